// Package bench measures what otsweep costs: sweeps of thousands of simulated
// SSH, WinRM and SNMP endpoints through the real scheduler, transports,
// parsers, checks, mapping and store, each against a bare protocol loop on
// the same servers at the same concurrency (the limit); a year of daily
// sweeps in the store; and a peer (Ansible's raw module) on real sshd hosts.
//
// Every measurement runs in its own process, so that the scanner's CPU time
// and peak RSS are its own: the simulated endpoints live in a server process
// and each sweep in a scanner process, both the benchmark binary re-executed
// in a child mode (see ChildMain). The orchestrating process only starts them
// and reads their resource usage.
//
// Nothing here runs in a plain `go test`: `make bench` runs the full set and
// prints one table, `make bench-smoke` a small one that only checks that
// every benchmark still works. Network traffic goes only to 127.0.0.0/8 and
// to network namespaces the benchmark creates.
package bench
