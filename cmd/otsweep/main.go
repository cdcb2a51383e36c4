package main
import (
 _ "github.com/expr-lang/expr"
 _ "github.com/goccy/go-yaml"
 _ "github.com/gosnmp/gosnmp"
 _ "github.com/jmoiron/sqlx"
 _ "github.com/mattn/go-sqlite3"
 _ "github.com/robfig/cron/v3"
 _ "github.com/spf13/cobra"
 _ "golang.org/x/crypto/ssh"
 _ "github.com/masterzen/winrm"
 _ "github.com/schollz/progressbar/v3"
)
func main(){}
