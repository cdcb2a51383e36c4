// Package sshd starts real OpenSSH servers for tests: a Lab of hosts, each
// with its own address, hostname, /etc files and sshd_config, reachable only
// from the machine running the test.
//
// # Network namespace mode (the default)
//
// Every host is a network namespace holding one veth end ("eth0") on a
// lab-private Linux bridge. Each Lab allocates a unique number N (1..254) by
// taking an exclusive flock on /run/otsweep-testbed/lab-N.lock, and with it a
// unique bridge (otlbrN), subnet (10.231.N.0/24, bridge at .1, hosts from
// .11), namespace names (otlN-I) and veth names, so several test binaries can
// run labs at the same time. A blackhole route (metric 4000) for the subnet
// keeps lab traffic on the machine even if the bridge is gone, and Start checks
// with `ip route get` that each host address is routed via the lab bridge
// before any traffic is sent.
//
// Per-host /etc files use `ip netns exec`'s overlay: every entry of
// /etc/netns/NS/ is bind-mounted over the matching top-level /etc entry for
// processes started in the namespace. A top-level entry is replaced whole, so
// for a file in a subdirectory (/etc/ssh/sshd_config, /etc/security/...) the
// lab copies the real directory into the overlay and changes the copy (the
// machine's own ssh host keys are not copied). sshd is started in the namespace
// under its own UTS namespace (hostname = HostSpec.Name) with the default
// config path, so sessions, sudo and `sshd -T` inside the host all see that
// host's files.
//
// The host's /etc/ssh/sshd_config is HostSpec.SSHDConfig (or the machine's own
// sshd_config when empty) preceded by a short block of lab lines, each added
// only where the spec does not set that keyword itself: the generated host keys
// (ed25519 and ECDSA P-256), "PidFile none", "MaxStartups 100:30:200" (the
// default 10:30:100 resets parallel test handshakes), and ForceCommand when
// HostSpec.ForceCommand is set. `sshd -T` inside the host therefore reports
// the spec's settings; Host.SSHDConfig holds the exact file. The host listens
// on the spec's global Port (22 by default) on all its addresses.
//
// Everything a Lab creates is removed by t.Cleanup, also when the test fails.
// A Lab left behind by a killed test binary (state directory or namespaces
// under a lab number whose lock nobody holds) is removed by the next Start.
//
// # Test user
//
// All hosts share the machine's user database: the user "otscan" is created
// once (useradd -m) and its password field set to "*" so key login works
// without PAM. A host with HostSpec.Password gets an overlay /etc/shadow in
// which otscan has a random password; the machine's /etc/shadow is never given
// a password. Client keys (ed25519, one per Lab) are generated at test time and
// added to ~otscan/.ssh/authorized_keys with a per-Lab comment, removed again
// on cleanup.
//
// # Loopback fallback
//
// When network namespaces are not available (`ip netns add` fails), or when
// OTSWEEP_TESTBED_LOOPBACK=1 is set, each host is an sshd on 127.231.N.(10+I)
// with a free port and the spec's sshd_config passed with -f. Limitations of
// that mode: no per-host /etc (HostSpec.Files is ignored with a log line), no
// per-host hostname, HostSpec.Sudo installs a machine-wide sudoers.d file for
// the Lab's lifetime, and hosts with HostSpec.Password skip the test (a
// password cannot be set per host without an /etc overlay).
//
// # Prerequisites
//
// Root, iproute2, OpenSSH server, sudo, util-linux unshare and the openssl CLI.
// When running as root and something is missing, Start installs it with
// apt-get and says so with t.Log. Without root, Start skips the test, or fails
// it when the CI environment variable is set.
//
// Lab and Host methods are safe for concurrent use by parallel subtests except
// Host.RotateHostKey, which must not run concurrently with other uses of the
// same Host.
package sshd
