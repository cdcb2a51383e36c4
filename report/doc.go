// Package report turns a stored sweep into the documents an auditor reads
// and the dashboard an OT admin watches.
//
// Build reads one sweep, and the drift window before it, from the store and
// assembles ONE model (Report): fleet summary, the FR × asset heat map of SL-A
// against SL-T, variance per zone and role, per-asset requirement states and
// evidence, countermeasures and their expiry, assessment coverage and SL-A
// drift. The renderers only read that model: WriteHTML (one self-contained
// file, no script, nothing loaded from elsewhere, printable), WriteJSON
// (schema in docs/report-schema.md) and WriteCSV (one row per asset and
// requirement, neutralised against spreadsheet formula injection). Handler
// serves the same views live and read-only.
//
// Nothing unevaluated is shown as holding: an asset whose scan failed claims
// no security level, and every requirement of it is unknown.
package report
