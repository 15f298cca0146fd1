package migrations

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNoNotify is returned by Notify and Listen on SQLite, which has no
// notifications: there every process that trains shares the one machine.
var ErrNoNotify = errors.New("notifications need PostgreSQL")

// Notify sends payload (at most 8000 bytes) to every connection listening
// on channel, through PostgreSQL's NOTIFY. Notifications from one
// connection arrive in the order sent.
func (d *Database) Notify(ctx context.Context, channel, payload string) error {
	if d.Dialect != Postgres {
		return ErrNoNotify
	}
	if _, err := d.SQL.ExecContext(ctx, `SELECT pg_notify($1, $2)`, channel, payload); err != nil {
		return fmt.Errorf("notify %s: %w", channel, err)
	}
	return nil
}

// Listen calls fn with the payload of every notification on channel, from
// a connection of its own, until stop is called (stop waits for the last
// call of fn). It returns once the connection listens; a connection lost
// later is opened again after a second (what was sent meanwhile is missed).
func (d *Database) Listen(ctx context.Context, channel string, fn func(payload string)) (stop func(), err error) {
	if d.Dialect != Postgres {
		return nil, ErrNoNotify
	}
	connect := func(ctx context.Context) (*pgx.Conn, error) {
		conn, err := pgx.ConnectConfig(ctx, d.connConfig)
		if err != nil {
			return nil, fmt.Errorf("listen on %s: %w", channel, err)
		}
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
			conn.Close(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("listen on %s: %w", channel, err)
		}
		return conn, nil
	}
	conn, err := connect(ctx)
	if err != nil {
		return nil, err
	}
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			for conn != nil {
				n, err := conn.WaitForNotification(lctx)
				if err != nil {
					closeCtx, c := context.WithTimeout(context.Background(), time.Second)
					conn.Close(closeCtx)
					c()
					conn = nil
					break
				}
				fn(n.Payload)
			}
			select {
			case <-lctx.Done():
				return
			case <-time.After(time.Second):
			}
			conn, _ = connect(lctx)
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}, nil
}
