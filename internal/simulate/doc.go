// Package simulate runs audit events through a policy without shipping
// them and accounts for what would be kept, dropped and sent where: the
// engine behind `auditstream simulate`.
package simulate
