package cluster

// Pid is the process id of the running process (0 when it is not running): the system
// benchmark reads each process's CPU time from /proc/<pid>/stat.
func (p *Proc) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}
