# otsweep Linux probe bundle, output schema otscan.linux/1.
#
# Run as:  sh -s -- NONCE DEEP SUDO FINDSECS TFLAVOR   with this text on stdin
#   NONCE     hex token framing every marker line (only it makes a line a marker)
#   DEEP      1 = also run the find(1) probes L24/L25, 0 = skip them
#   SUDO      yes|no, whether the wrapper obtained root through sudo -n
#   FINDSECS  wall-clock bound for the find probes
#   TFLAVOR   timeout(1) syntax the wrapper found working: k (-k KILL SECS),
#             p (SECS), t (old busybox -t SECS), empty = no timeout(1)
#
# POSIX sh, busybox-ash compatible. Read-only: nothing is written on the host.
# Cost: files are dumped in bulk by one grep and parsed by the scanner; a
# handful of commands cover the rest. Every external command reads
# /dev/null (the whole body is one function called with </dev/null), so no
# command can swallow the rest of this script from standard input, and a
# truncated transfer runs nothing at all.
#
# Output: @@OTSCAN <nonce> BEGIN|PROBE|RC|SKIP|FILE|END|COST lines frame raw
# tool output and "path:line" file content; see parse.go.

otscan_main() {
LC_ALL=C; export LC_ALL
PATH=$PATH:/usr/sbin:/sbin:/usr/bin:/bin; export PATH
N=$1; DEEP=${2:-0}; SUDO=${3:-no}; FS=${4:-0}; TF=$5
X=0
# The pid of a throw-away subshell at start and end brackets every pid the
# host handed out meanwhile: an upper bound of the processes this run spawned.
# (The shell's read(1) cannot read /proc/sys files: they reject partial reads.)
: & P0=$!; wait
U=
if [ -r /proc/self/status ]; then
  while read -r k a b c; do [ "$k" = Uid: ] && U=$b; done </proc/self/status 2>/dev/null
fi
case $U in ''|*[!0-9]*) X=$((X+1)); U=$(id -u 2>/dev/null);; esac
SYSD=0; [ -d /run/systemd/system ] && SYSD=1

m() { printf '@@OTSCAN %s %s\n' "$N" "$*"; }
beg() { SEC=$1; m PROBE "$1"; }
end() { printf '\n'; m RC "$SEC" "$1"; }
have() { command -v "$1" >/dev/null 2>&1; }

# dump FLAGS PATTERN PATH...: FILE markers for every regular file, then one
# grep over the readable ones ("path:line"). Unreadable files are reported,
# never silently skipped; missing files are simply not listed.
dump() {
  dfl=$1; dpat=$2; shift 2
  i=$#
  while [ "$i" -gt 0 ]; do
    f=$1; shift; i=$((i-1))
    if [ -f "$f" ]; then
      if [ -r "$f" ]; then m FILE ok "$f"; set -- "$@" "$f"; else m FILE denied "$f"; fi
    fi
  done
  [ $# -gt 0 ] || return 1
  X=$((X+1)); grep -sH"$dfl" "$dpat" "$@"
}

m BEGIN schema=otscan.linux/1 uid=$U sudo=$SUDO deep=$DEEP systemd=$SYSD

beg FILES
dump vE '^[[:space:]]*(#|$)' \
  /etc/os-release /usr/lib/os-release /etc/redhat-release /etc/debian_version /etc/alpine-release \
  /etc/openwrt_release /var/run/reboot-required /var/run/reboot-required.pkgs \
  /etc/login.defs /etc/passwd /etc/group \
  /etc/security/pwquality.conf /etc/security/pwquality.conf.d/*.conf \
  /etc/security/pwhistory.conf /etc/security/faillock.conf /etc/pam.d/* \
  /etc/ssh/sshd_config /etc/ssh/sshd_config.d/*.conf /etc/crypto-policies/back-ends/opensshserver.config \
  /etc/apt/apt.conf.d/*auto-upgrades /etc/apt/apt.conf.d/*periodic /etc/dnf/automatic.conf /etc/yum/yum-cron.conf \
  /etc/ufw/ufw.conf /etc/default/ufw /etc/firewalld/firewalld.conf \
  /etc/audit/auditd.conf \
  /etc/rsyslog.conf /etc/rsyslog.d/*.conf /etc/syslog-ng/syslog-ng.conf /etc/syslog-ng/conf.d/*.conf \
  /etc/syslog.conf /etc/systemd/journal-upload.conf \
  /etc/chrony.conf /etc/chrony/chrony.conf /etc/chrony/sources.d/*.sources /etc/chrony/conf.d/*.conf \
  /etc/ntp.conf /etc/ntpsec/ntp.conf /etc/openntpd/ntpd.conf \
  /etc/systemd/timesyncd.conf /etc/systemd/timesyncd.conf.d/*.conf \
  /etc/crontab /etc/cron.d/* /var/spool/cron/crontabs/root /var/spool/cron/root \
  /etc/modprobe.d/*.conf /lib/modprobe.d/*.conf /usr/lib/modprobe.d/*.conf /proc/modules \
  /etc/issue /etc/issue.net \
  /etc/profile /etc/profile.d/*.sh /etc/bash.bashrc /etc/bashrc \
  /etc/crypttab /proc/mounts \
  /sys/module/apparmor/parameters/enabled /sys/kernel/security/apparmor/profiles \
  /sys/fs/selinux/enforce /selinux/enforce /etc/selinux/config \
  /etc/security/limits.conf /etc/security/limits.d/*.conf /proc/sys/fs/suid_dumpable \
  /proc/sys/kernel/core_pattern /etc/systemd/coredump.conf /etc/systemd/coredump.conf.d/*.conf \
  /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/all/forwarding
end $?

# Root-only files holding secrets: only the non-secret part of a line leaves
# the host (shadow: "user::" of empty-password accounts; snmpd: directives, but
# never createUser passphrases). Community strings are redacted by the parser.
beg RESTRICTED
dump oE '^[A-Za-z0-9_.$-]+::|^[[:space:]]*(createUser[[:space:]]+[^[:space:]]+([[:space:]]+[A-Za-z0-9-]+)?|(rocommunity6?|rwcommunity6?|com2sec6?|rouser|rwuser|authcommunity|access)([[:space:]].*)?$)' \
  /etc/shadow /etc/snmp/snmpd.conf /etc/snmp/snmpd.conf.d/*.conf
end $?

# Listening sockets straight from the kernel tables (what ss -tuln reads).
beg SOCKETS
dump E '^ *[0-9]+: [0-9A-F]+:[0-9A-F]+ [0-9A-F]+:[0-9A-F]+ (0A|07) ' \
  /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6
end $?

beg LS
for f in /lib/modules/* /usr/lib/modules/* /boot/vmlinuz-* /etc/cron.daily/* /etc/cron.weekly/* \
  /var/run/reboot-required /sys/module /sys/module/usb_storage /usr/bin/unattended-upgrade /usr/bin/dnf-automatic /usr/sbin/yum-cron; do
  [ -e "$f" ] && printf '%s\n' "$f"
done
for d in /var/lib/aide /var/lib/aide/db; do
  [ -d "$d" ] || continue
  if [ -r "$d" ] && [ -x "$d" ]; then
    for f in "$d"/*; do [ -e "$f" ] && printf '%s\n' "$f"; done
  else
    printf '! %s\n' "$d"
  fi
done
end 0

beg BIN
for c in sshd dropbear aide auditd nft iptables auditctl chronyc ntpq timedatectl systemctl lsblk find \
  telnetd in.telnetd rshd in.rshd inetd xinetd ypserv tftpd in.tftpd vsftpd telnet rsh \
  snmpd usbguard getenforce; do
  command -v "$c" 2>/dev/null
done
end 0

beg PROCS
seen=' '
for f in /proc/[0-9]*/comm; do
  c=; read -r c 2>/dev/null <"$f"
  case $c in ''|kworker/*|ksoftirqd/*|migration/*|cpuhp/*|irq/*|idle_inject/*|rcu*) continue;; esac
  case $seen in *" $c "*) ;; *) seen="$seen$c "; printf '%s\n' "$c";; esac
done
end 0

UNITS='ssh sshd auditd firewalld nftables ufw iptables netfilter-persistent
chrony chronyd systemd-timesyncd ntp ntpd ntpsec openntpd rsyslog syslog-ng
systemd-journal-upload snmpd usbguard apparmor aidecheck.timer dailyaidecheck.timer
apt-daily-upgrade.timer unattended-upgrades dnf-automatic.timer dnf-automatic-install.timer
yum-cron xinetd inetd telnet.socket vsftpd tftpd-hpa tftp.socket'
if [ "$SYSD" = 1 ] && have systemctl; then
  beg UNITS
  echo $UNITS
  X=$((X+1)); systemctl is-active $UNITS 2>&1
  end $?
else
  m SKIP UNITS no-systemd
fi

beg L03
X=$((X+1)); uname -srm 2>&1
end $?

if have dpkg-query; then
  beg L04; echo dpkg; X=$((X+1))
  dpkg-query -W -f='${Status}\t${Package}\t${Version}\t${Architecture}\n' 2>&1
  end $?
elif have rpm; then
  beg L04; echo rpm; X=$((X+1))
  rpm -qa --queryformat '%{NAME}\t%{VERSION}-%{RELEASE}\t%{ARCH}\n' 2>&1
  end $?
elif have opkg; then
  beg L04; echo opkg; X=$((X+1)); opkg list-installed 2>&1; end $?
elif have apk; then
  beg L04; echo apk; X=$((X+1)); apk info -v 2>&1; end $?
else
  m SKIP L04 missing:dpkg-query,rpm,opkg,apk
fi

# Root-only commands: a missing command is reported before missing root, so
# a rescan with sudo is only suggested when it would help.
if ! have sshd; then
  m SKIP L12 missing:sshd
elif [ "$U" != 0 ]; then
  m SKIP L12 not-elevated
else
  beg L12; X=$((X+1)); sshd -T -C user=root,host=localhost,addr=127.0.0.1 2>&1; end $?
fi

if ! have nft && ! have iptables; then
  m SKIP L17 missing:nft,iptables
elif [ "$U" != 0 ]; then
  m SKIP L17 not-elevated
elif have nft; then
  beg L17; X=$((X+1)); r=$(nft list ruleset 2>&1); rc=$?
  [ -n "$r" ] && printf '%s\n' "$r"
  end $rc
  if [ -z "$r" ] && have iptables; then
    beg L17.iptables; X=$((X+1)); iptables -S 2>&1; end $?
  fi
else
  beg L17.iptables; X=$((X+1)); iptables -S 2>&1; end $?
fi

if ! have auditctl; then
  m SKIP L18 missing:auditctl
elif [ "$U" != 0 ]; then
  m SKIP L18 not-elevated
else
  beg L18; X=$((X+1)); auditctl -s 2>&1; end $?
  beg L18.rules; X=$((X+1)); auditctl -l 2>&1; end $?
fi

if [ "$SYSD" = 1 ] && have timedatectl; then
  beg L21; X=$((X+1)); timedatectl status 2>&1; end $?
elif have chronyc; then
  beg L21.chronyc; X=$((X+1)); chronyc -n tracking 2>&1; end $?
elif have ntpq; then
  beg L21.ntpq; X=$((X+1)); ntpq -pn 2>&1; end $?
else
  m SKIP L21 missing:timedatectl,chronyc,ntpq
fi

if have lsblk; then
  beg L30; X=$((X+1)); lsblk -rno NAME,TYPE,FSTYPE,MOUNTPOINT,PKNAME 2>&1; end $?
else
  m SKIP L30 missing:lsblk
fi

if [ "$DEEP" != 1 ]; then
  :
elif ! have find; then
  m SKIP L24 missing:find
elif [ "$U" != 0 ]; then
  m SKIP L24 not-elevated
else
  set --
  while read -r d mp t o r; do
    case $t in
      ext2|ext3|ext4|xfs|btrfs|jfs|reiserfs|f2fs|zfs|nilfs2|ubifs|jffs2|squashfs|overlay)
        case $mp in *\\*) ;; *) set -- "$@" "$mp";; esac;;
    esac
  done </proc/mounts 2>/dev/null
  [ $# -gt 0 ] || set -- /
  FT=
  if [ "$FS" -gt 0 ] 2>/dev/null; then
    case $TF in k) FT="timeout -k 2 $FS";; p) FT="timeout $FS";; t) FT="timeout -t $FS";; esac
  fi
  have nice && FT="$FT nice -n 19"
  beg L24; X=$((X+2))
  $FT find "$@" -xdev \( -type f \( -perm -0002 -o -perm -4000 -o -perm -2000 \) -o -type d -perm -0002 ! -perm -1000 \) \
    -exec ls -ldn {} + 2>/dev/null
  end $?
fi

m END
: & P1=$!; wait
d=-1
case $P0 in ''|*[!0-9]*) ;; *) case $P1 in ''|*[!0-9]*) ;; *) d=$((P1-P0-1));; esac;; esac
m COST pids=$d execs=$X
times
return 0
}
otscan_main "$@" </dev/null
exit 0
