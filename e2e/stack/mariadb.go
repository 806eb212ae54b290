package stack

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// trillianSchema is storage/mysql/schema/storage.sql of
// github.com/google/trillian v1.8.0 (Apache-2.0).
//
//go:embed trillian_schema.sql
var trillianSchema []byte

// Credentials of the Trillian database user.
const (
	trillianDB   = "trillian"
	trillianUser = "trillian"
	trillianPass = "trillian"
)

// mysqlURI is the Go MySQL driver DSN Trillian connects with.
func (u *upper) mysqlURI() string {
	return fmt.Sprintf("%s:%s@tcp(127.0.0.1:%d)/%s", trillianUser, trillianPass, u.opts.Ports.MariaDB, trillianDB)
}

// startMariaDB starts the stack's own mariadbd (datadir under the state
// dir, running as root) and creates the Trillian database on first use.
func (u *upper) startMariaDB(ctx context.Context) error {
	dir := filepath.Join(u.dir, "mariadb")
	data := filepath.Join(dir, "data")
	sock := filepath.Join(dir, "mariadb.sock")
	server, err := lookPath("mariadbd", "mysqld")
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(data, "mysql")); err != nil {
		install, err := lookPath("mariadb-install-db", "mysql_install_db")
		if err != nil {
			return err
		}
		_ = os.RemoveAll(data)
		if err := os.MkdirAll(data, 0o755); err != nil {
			return err
		}
		cmd := exec.CommandContext(ctx, install, "--no-defaults", "--user=root", "--datadir="+data,
			"--skip-test-db", "--auth-root-authentication-method=socket")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("initialising mariadb datadir: %w\n%s", err, out)
		}
	}
	p, err := u.start("mariadb", nil, server,
		"--no-defaults",
		"--user=root",
		"--datadir="+data,
		"--socket="+sock,
		"--pid-file="+filepath.Join(dir, "mariadb.pid"),
		"--bind-address=127.0.0.1",
		"--port="+strconv.Itoa(u.opts.Ports.MariaDB),
		"--skip-name-resolve",
		"--innodb-buffer-pool-size=64M",
		"--max-connections=200",
	)
	if err != nil {
		return err
	}
	if err := p.wait(ctx, func(ctx context.Context) error {
		_, err := u.sql(ctx, sock, "", "SELECT 1")
		return err
	}); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "schema-loaded")); err == nil {
		return nil
	}
	setup := fmt.Sprintf(`CREATE DATABASE IF NOT EXISTS %[1]s;
CREATE USER IF NOT EXISTS '%[2]s'@'127.0.0.1' IDENTIFIED BY '%[3]s';
CREATE USER IF NOT EXISTS '%[2]s'@'localhost' IDENTIFIED BY '%[3]s';
GRANT ALL PRIVILEGES ON %[1]s.* TO '%[2]s'@'127.0.0.1';
GRANT ALL PRIVILEGES ON %[1]s.* TO '%[2]s'@'localhost';
FLUSH PRIVILEGES;`, trillianDB, trillianUser, trillianPass)
	if _, err := u.sql(ctx, sock, "", setup); err != nil {
		return fmt.Errorf("creating trillian database: %w", err)
	}
	if _, err := u.sql(ctx, sock, trillianDB, string(trillianSchema)); err != nil {
		return fmt.Errorf("loading trillian schema: %w", err)
	}
	return os.WriteFile(filepath.Join(dir, "schema-loaded"), nil, 0o644)
}

// sql runs statements through the mariadb client as root over the socket.
func (u *upper) sql(ctx context.Context, sock, db, stmts string) (string, error) {
	client, err := lookPath("mariadb", "mysql")
	if err != nil {
		return "", err
	}
	args := []string{"--no-defaults", "--user=root", "--socket=" + sock, "--batch", "--skip-column-names"}
	if db != "" {
		args = append(args, db)
	}
	cmd := exec.CommandContext(ctx, client, args...)
	cmd.Stdin = strings.NewReader(stmts)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%w: %s", err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// lookPath finds the first of names on $PATH or in /usr/sbin.
func lookPath(names ...string) (string, error) {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
		for _, d := range []string{"/usr/sbin", "/usr/bin", "/usr/local/bin"} {
			p := filepath.Join(d, n)
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("none of %s found (apt-get install -y mariadb-server)", strings.Join(names, ", "))
}
