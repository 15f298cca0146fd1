package trainer

import (
	"testing"
	"testing/fstest"
)

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

func TestCgroupLimit(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		fs   fstest.MapFS
		want int64
		ok   bool
	}{
		{"v2 limit", fstest.MapFS{
			"proc/self/cgroup": file("0::/system.slice/ty.service\n"),
			"sys/fs/cgroup/system.slice/ty.service/memory.max": file("4294967296\n"),
		}, 4 << 30, true},
		{"v2 no limit here, one above", fstest.MapFS{
			"proc/self/cgroup":             file("0::/a/b\n"),
			"sys/fs/cgroup/a/b/memory.max": file("max\n"),
			"sys/fs/cgroup/a/memory.max":   file("2147483648\n"),
		}, 2 << 30, true},
		{"v2 in a container (own cgroup at the root)", fstest.MapFS{
			"proc/self/cgroup":         file("0::/\n"),
			"sys/fs/cgroup/memory.max": file("1073741824\n"),
		}, 1 << 30, true},
		{"v2 unlimited", fstest.MapFS{
			"proc/self/cgroup":         file("0::/\n"),
			"sys/fs/cgroup/memory.max": file("max\n"),
		}, 0, false},
		{"v1 limit", fstest.MapFS{
			"proc/self/cgroup": file("5:cpu,cpuacct:/\n4:memory:/job/7\n0::/\n"),
			"sys/fs/cgroup/memory/job/7/memory.limit_in_bytes": file("3221225472\n"),
			"sys/fs/cgroup/memory/memory.limit_in_bytes":       file("9223372036854771712\n"),
		}, 3 << 30, true},
		{"v1 unlimited", fstest.MapFS{
			"proc/self/cgroup":                           file("4:memory:/process_api/x\n"),
			"sys/fs/cgroup/memory/memory.limit_in_bytes": file("9223372036854771712\n"),
		}, 0, false},
		{"no cgroup file", fstest.MapFS{}, 0, false},
		{"garbage", fstest.MapFS{
			"proc/self/cgroup":         file("0::/\n"),
			"sys/fs/cgroup/memory.max": file("lots\n"),
		}, 0, false},
	}
	for _, c := range cases {
		got, ok := cgroupLimit(c.fs)
		if got != c.want || ok != c.ok {
			t.Errorf("%s: %d, %v; want %d, %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

func TestMemTotal(t *testing.T) {
	t.Parallel()
	fs := fstest.MapFS{"proc/meminfo": file("MemTotal:       24576000 kB\nMemFree: 1 kB\n")}
	if got := memTotal(fs); got != 24576000<<10 {
		t.Errorf("memTotal = %d", got)
	}
	if got := memTotal(fstest.MapFS{}); got != 0 {
		t.Errorf("memTotal without meminfo = %d", got)
	}
	if d := DefaultRunMemory(); d <= 0 || d > MaxDefaultRunMemory || d > MachineMemory()/2 {
		t.Errorf("DefaultRunMemory = %d of %d", d, MachineMemory())
	}
}
