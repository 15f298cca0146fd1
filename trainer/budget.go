package trainer

import (
	"bufio"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
)

// MaxDefaultRunMemory caps the default run budget.
const MaxDefaultRunMemory = 8 << 30

// DefaultRunMemory is the run budget when none is configured: the lower of
// half MachineMemory and 8 GiB.
func DefaultRunMemory() int64 {
	return min(MachineMemory()/2, MaxDefaultRunMemory)
}

// MachineMemory is the memory this process may use: the memory limit of
// its cgroup when one is set (cgroup v2 or v1, the lowest along the
// path), else the machine's total memory, else 16 GiB when neither can be
// read.
func MachineMemory() int64 {
	root := os.DirFS("/")
	total := memTotal(root)
	if lim, ok := cgroupLimit(root); ok && (total == 0 || lim < total) {
		return lim
	}
	if total > 0 {
		return total
	}
	return 16 << 30
}

// memTotal reads MemTotal from proc/meminfo under root; 0 when unknown.
func memTotal(root fs.FS) int64 {
	f, err := root.Open("proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			fields := strings.Fields(rest)
			if len(fields) == 0 {
				return 0
			}
			kb, err := strconv.ParseInt(fields[0], 10, 64)
			if err != nil || kb <= 0 {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// unlimited is above any real memory limit: cgroup v1 writes a number near
// 2^63 for "no limit".
const unlimited = 1 << 60

// cgroupLimit returns the lowest memory limit set on this process's cgroup
// or one of its ancestors, read under root (proc/self/cgroup, then
// sys/fs/cgroup for v2 and sys/fs/cgroup/memory for v1).
func cgroupLimit(root fs.FS) (int64, bool) {
	data, err := fs.ReadFile(root, "proc/self/cgroup")
	if err != nil {
		return 0, false
	}
	best := int64(0)
	found := false
	take := func(v int64, ok bool) {
		if ok && (!found || v < best) {
			best, found = v, true
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "":
			take(lowestAlong(root, "sys/fs/cgroup", parts[2], "memory.max"))
		case hasController(parts[1], "memory"):
			take(lowestAlong(root, "sys/fs/cgroup/memory", parts[2], "memory.limit_in_bytes"))
		}
	}
	return best, found
}

func hasController(list, name string) bool {
	for _, c := range strings.Split(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

// lowestAlong reads file in the cgroup directory of cg under mount and in
// each of its ancestors, and returns the lowest limit set. Inside a
// container the process's path may not exist under the mount, whose root
// is then its own cgroup: that is read too.
func lowestAlong(root fs.FS, mount, cg, file string) (int64, bool) {
	best, found := int64(0), false
	dir := path.Clean("/" + cg)
	for {
		if v, ok := readLimit(root, path.Join(mount, dir, file)); ok && (!found || v < best) {
			best, found = v, true
		}
		if dir == "/" {
			break
		}
		dir = path.Dir(dir)
	}
	return best, found
}

// readLimit reads one limit file: a byte count, or "max" for none.
func readLimit(root fs.FS, name string) (int64, bool) {
	data, err := fs.ReadFile(root, name)
	if err != nil {
		return 0, false
	}
	s := strings.TrimSpace(string(data))
	if s == "max" || s == "" {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 || v >= unlimited {
		return 0, false
	}
	return v, true
}
