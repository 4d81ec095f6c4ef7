package store

// SetAudit turns the audit entries of s's commits on or off (benchmarks only).
func SetAudit(s *Store, on bool) { s.noAudit = !on }
