package dbtest

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cluster is a PostgreSQL server of this test process, listening only on a
// Unix socket in its own temp dir.
type cluster struct {
	bin    string // the directory of initdb, pg_ctl, postgres
	dir    string // the temp dir: socket, log, owner, data/
	asUser string // "postgres" when running as root, else ""
}

// StartTime is how long the last cluster took to initialize and start.
var StartTime time.Duration

// binDir finds the PostgreSQL server binaries: TRAINYARD_PG_BIN, the newest
// /usr/lib/postgresql/N/bin (Debian), or initdb on PATH.
func binDir() (string, error) {
	if d := os.Getenv("TRAINYARD_PG_BIN"); d != "" {
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("no PostgreSQL server binaries (initdb) found; install them with apt-get install postgresql")
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

const dirPrefix = "trainyard-pg-"

// startCluster starts a cluster: a copy of the cached one whose template
// database has the schema of fingerprint key when there is one (withTemplate
// is then true), else a fresh one.
func startCluster(key string) (c *cluster, withTemplate bool, err error) {
	t0 := time.Now()
	bin, err := binDir()
	if err != nil {
		return nil, false, err
	}
	reapOrphans(bin)
	dir, err := os.MkdirTemp(tempRoot(), dirPrefix)
	if err != nil {
		return nil, false, err
	}
	c = &cluster{bin: bin, dir: dir}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	if err := os.WriteFile(filepath.Join(dir, "owner"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return nil, false, err
	}
	if os.Geteuid() == 0 { // initdb refuses to run as root
		c.asUser = "postgres"
		if err := c.chownToUser(dir); err != nil {
			return nil, false, fmt.Errorf("running as root needs the postgres user to own the cluster: %w", err)
		}
		os.Chmod(dir, 0o755)
	}
	if cache := c.templateCache(key); key != "" && exists(filepath.Join(cache, "PG_VERSION")) {
		withTemplate = c.exec("cp", "-a", cache, c.data()) == nil
	}
	if !withTemplate {
		os.RemoveAll(c.data())
		if err := c.initdb(c.data()); err != nil {
			return nil, false, err
		}
	}
	if err := c.start(); err != nil {
		return nil, false, err
	}
	StartTime = time.Since(t0)
	return c, withTemplate, nil
}

func (c *cluster) data() string { return filepath.Join(c.dir, "data") }

func (c *cluster) start() error {
	opts := strings.Join([]string{
		"-k", c.dir, "-c", "listen_addresses=", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "shared_buffers=32MB", "-c", "max_connections=200",
	}, " ")
	if err := c.run("pg_ctl", "-D", c.data(), "-l", filepath.Join(c.dir, "log"), "-o", opts, "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "log"))
		return fmt.Errorf("%w\n%s", err, log)
	}
	return nil
}

// templateCache is where a cluster whose template database has the schema
// of fingerprint key is kept between test processes.
func (c *cluster) templateCache(key string) string {
	return filepath.Join(tempRoot(), fmt.Sprintf("trainyard-pgtmpl-%d-%s-%d-%s", version(c.bin), c.asUser, os.Geteuid(), key))
}

// saveTemplate keeps a copy of the cluster, now holding the migrated
// template database, for the next test process: it stops the cluster
// cleanly, copies it, and starts it again. Copies of other schemas older
// than a day are removed.
func (c *cluster) saveTemplate(key string) error {
	cache := c.templateCache(key)
	if err := c.run("pg_ctl", "-D", c.data(), "-m", "fast", "-w", "stop"); err != nil {
		return err
	}
	parent, err := os.MkdirTemp(tempRoot(), "trainyard-pgtmpl-new-")
	if err == nil {
		if c.asUser != "" {
			err = c.chownToUser(parent)
		}
		fresh := filepath.Join(parent, "data")
		if err == nil {
			err = c.exec("cp", "-a", c.data(), fresh)
		}
		if err == nil {
			os.Remove(filepath.Join(fresh, "postmaster.pid"))
			if rerr := os.Rename(fresh, cache); rerr != nil && !exists(filepath.Join(cache, "PG_VERSION")) {
				err = rerr
			}
		}
		os.RemoveAll(parent)
	}
	old, _ := filepath.Glob(filepath.Join(tempRoot(), "trainyard-pgtmpl-*"))
	for _, d := range old {
		if st, serr := os.Stat(d); d != cache && serr == nil && time.Since(st.ModTime()) > 24*time.Hour {
			os.RemoveAll(d)
		}
	}
	return errors.Join(err, c.start())
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// tempRoot is the temp dir, or /tmp when running as root and the postgres
// user could not reach into the temp dir (a TMPDIR only root may enter).
func tempRoot() string {
	dir := os.TempDir()
	if os.Geteuid() != 0 {
		return dir
	}
	for d := dir; ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil || st.Mode().Perm()&0o001 == 0 {
			return "/tmp"
		}
		if d == filepath.Dir(d) {
			return dir
		}
	}
}

// url is the connection URL of database name, over the cluster's socket.
func (c *cluster) url(name string) string {
	return "postgres://postgres@/" + name + "?host=" + url.QueryEscape(c.dir) + "&sslmode=disable"
}

func (c *cluster) stop() error {
	err := c.run("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "immediate", "-w", "stop")
	return errors.Join(err, os.RemoveAll(c.dir))
}

// initdb makes a new cluster's data dir at data. initdb takes seconds (more
// on a busy machine), so its result is kept once per PostgreSQL version and
// user in the temp dir and copied for each cluster.
func (c *cluster) initdb(data string) error {
	cache := filepath.Join(tempRoot(), fmt.Sprintf("trainyard-pginit-%d-%s-%d", version(c.bin), c.asUser, os.Geteuid()))
	if _, err := os.Stat(filepath.Join(cache, "PG_VERSION")); err != nil {
		parent, err := os.MkdirTemp(tempRoot(), "trainyard-pginit-new-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(parent)
		if c.asUser != "" {
			if err := c.chownToUser(parent); err != nil {
				return err
			}
		}
		fresh := filepath.Join(parent, "data")
		if err := c.run("initdb", "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync", "-D", fresh); err != nil {
			return err
		}
		if err := os.Rename(fresh, cache); err != nil && !errors.Is(err, fs.ErrExist) {
			// Another test package made it first (rename onto a non-empty dir fails): use theirs.
			if _, serr := os.Stat(filepath.Join(cache, "PG_VERSION")); serr != nil {
				return err
			}
		}
	}
	return c.exec("cp", "-a", cache, data)
}

func (c *cluster) chownToUser(dir string) error {
	u, err := user.Lookup(c.asUser)
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return os.Chown(dir, uid, gid)
}

func (c *cluster) run(tool string, args ...string) error {
	return c.exec(filepath.Join(c.bin, tool), args...)
}

// exec runs path with args, as the cluster's user when it has one.
func (c *cluster) exec(path string, args ...string) error {
	var cmd *exec.Cmd
	if c.asUser != "" {
		cmd = exec.Command("runuser", append([]string{"-u", c.asUser, "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Dir = c.dir // the postgres user may not reach the test's working dir
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w\n%s", filepath.Base(path), err, out.String())
	}
	return nil
}

// reapOrphans stops and removes the clusters of test processes that died
// without stopping theirs (a test binary killed by its timeout, say).
func reapOrphans(bin string) {
	dirs, _ := filepath.Glob(filepath.Join(tempRoot(), dirPrefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, "owner"))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || syscall.Kill(pid, 0) != syscall.ESRCH {
			continue // its owner is alive (or not ours to judge)
		}
		c := &cluster{bin: bin, dir: dir}
		if os.Geteuid() == 0 {
			c.asUser = "postgres"
		}
		c.stop()
	}
}
