#!/bin/sh
# Records the BusyBox fixtures: the real bundle run by a real BusyBox ash,
# grep, find and ls inside a minimal chroot shaped like an embedded gateway
# (Buildroot os-release, extra UID-0 "service" account with an empty
# password, vendor-default snmpd.conf, dropbear, telnetd symlink, httpd on 80
# and a Modbus/TCP listener on 502), in its own PID and network namespace.
#
# Needs root, unshare(1) and Debian's busybox. Run from probes/linux:
#   sh testdata/gen-busybox.sh
# The stub files (dropbear, snmpd) only need to exist: the bundle looks them
# up with command -v and never runs them. So is telnetd, a link to a busybox
# built without that applet (embedded builds often have it).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
R=$(mktemp -d)
trap 'rm -rf "$R"' EXIT
chmod 755 "$R"
mkdir -p "$R"/bin "$R"/sbin "$R"/usr/bin "$R"/usr/sbin "$R"/lib/x86_64-linux-gnu "$R"/lib64 \
  "$R"/etc/snmp "$R"/etc/init.d "$R"/proc "$R"/dev "$R"/tmp "$R"/var/run "$R"/var/log \
  "$R"/root "$R"/home/operator "$R"/www "$R"/opt/hmi
cp /usr/bin/busybox "$R"/bin/
cp /lib/x86_64-linux-gnu/libc.so.6 /lib/x86_64-linux-gnu/libresolv.so.2 "$R"/lib/x86_64-linux-gnu/
cp /lib64/ld-linux-x86-64.so.2 "$R"/lib64/
for a in sh ash cat grep ls uname find timeout id sleep ps mount vi echo printf true false kill; do
  ln -s busybox "$R/bin/$a"
done
for a in httpd nc syslogd klogd telnetd; do ln -s ../../bin/busybox "$R/usr/sbin/$a"; done
ln -s ../../bin/busybox "$R"/usr/bin/telnet
mknod "$R"/dev/null c 1 3 && chmod 666 "$R"/dev/null
printf '#!/bin/sh\nexit 0\n' >"$R"/usr/sbin/dropbear
printf '#!/bin/sh\nexit 0\n' >"$R"/usr/sbin/snmpd
chmod 755 "$R"/usr/sbin/dropbear "$R"/usr/sbin/snmpd

cat >"$R"/etc/os-release <<'EOF'
NAME=Buildroot
VERSION=2023.02.9
ID=buildroot
VERSION_ID=2023.02.9
PRETTY_NAME="Buildroot 2023.02.9"
EOF
cat >"$R"/etc/passwd <<'EOF'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
service:x:0:0:Service:/root:/bin/sh
hmi:x:1000:1000:HMI operator:/home/operator:/bin/sh
EOF
# Placeholder hashes: only "user::" of empty-password lines ever leaves the host.
cat >"$R"/etc/shadow <<'EOF'
root:$5$placeholder$000000000000000000000000000000000000000000:19700:0:99999:7:::
daemon:*:::::::
bin:*:::::::
sys:*:::::::
sync:*:::::::
mail:*:::::::
www-data:*:::::::
operator:*:::::::
nobody:*:::::::
service::19700:0:99999:7:::
hmi:$5$placeholder$111111111111111111111111111111111111111111:19700:0:99999:7:::
EOF
chmod 600 "$R"/etc/shadow
cat >"$R"/etc/group <<'EOF'
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
wheel:x:10:root,service
users:x:100:
www-data:x:33:
hmi:x:1000:
nogroup:x:65534:
EOF
printf 'Welcome to Buildroot\n' >"$R"/etc/issue
cat >"$R"/etc/profile <<'EOF'
export PATH="/bin:/sbin:/usr/bin:/usr/sbin"

if [ "$PS1" ]; then
	if [ "`id -u`" -eq 0 ]; then
		export PS1='# '
	else
		export PS1='$ '
	fi
fi

export EDITOR='/bin/vi'

# Source configuration files from /etc/profile.d
for i in /etc/profile.d/*.sh ; do
	if [ -r "$i" ]; then
		. $i
	fi
done
unset i
EOF
cat >"$R"/etc/snmp/snmpd.conf <<'EOF'
# net-snmp agent of the gateway (vendor default)
agentAddress udp:161
sysLocation Line 3 cabinet
sysContact maintenance@vendor.example
rocommunity public default
rwcommunity private 192.168.1.0/24
EOF
chmod 600 "$R"/etc/snmp/snmpd.conf
echo '<h1>gateway</h1>' >"$R"/www/index.html
# a world-writable config and a SUID copy of busybox, as found on such devices
echo 'plc=192.168.1.10' >"$R"/opt/hmi/config.ini
chmod 666 "$R"/opt/hmi/config.ini
cp "$R"/bin/busybox "$R"/opt/hmi/hmi-helper
chmod 4755 "$R"/opt/hmi/hmi-helper
chown 1000:1000 "$R"/home/operator
cp "$here"/../bundle.sh "$R"/tmp/bundle.sh

cat >"$R"/tmp/start.sh <<'EOF'
/usr/sbin/syslogd -O /var/log/messages
/usr/sbin/httpd -p 80 -h /www
/usr/sbin/nc -ll -p 502 -e /bin/cat >/dev/null 2>&1 &
EOF

for v in root nonroot root-deep; do
  n=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
  case $v in
  root) run="chroot $R /bin/sh -s -- $n 0 no 0 k" ;;
  root-deep) run="chroot $R /bin/sh -s -- $n 1 no 60 k" ;;
  nonroot) run="chroot --userspec=1000:1000 $R /bin/sh -s -- $n 0 no 0 k" ;;
  esac
  # PID 1 of the namespace is this sh; the daemons live until it exits.
  unshare -n -p -f --mount-proc="$R"/proc sh -c "chroot $R /bin/sh /tmp/start.sh; sleep 1; $run" \
    <"$R"/tmp/bundle.sh >"$here/busybox-$v.out"
done
