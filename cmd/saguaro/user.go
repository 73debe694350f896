package main

import (
	"bufio"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prometheus/common/model"

	"github.com/saguaro-monitoring/saguaro/pkg/auth"
	"github.com/saguaro-monitoring/saguaro/pkg/config"
)

const userUsage = `Usage:
  saguaro user list                          users, roles and tokens
  saguaro user add NAME [--role viewer|editor|admin] [--password-stdin]
  saguaro user passwd NAME [--password-stdin]
  saguaro user role NAME viewer|editor|admin
  saguaro user disable|enable|delete NAME
  saguaro user token NAME [--name LABEL] [--expires 90d]
  saguaro user revoke NAME TOKEN_ID
  saguaro user scope NAME                    show the devices and trees NAME may see
  saguaro user scope NAME [--device GLOB]... [--tree GLOB]...
                                             limit NAME to devices matching a device glob
                                             or in a site matching a tree glob (replaces
                                             the old limits); --clear lifts them

Common flags: --data DIR (default: the configuration's data_dir), --config FILE.
Without --password-stdin a random password is made and printed once.
The server may keep running: the database allows both at once.
`

// userCmd manages accounts in DATA_DIR/state.db from the command line.
func userCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, userUsage)
		return 0
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("user "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgFile := fs.String("config", "", "configuration file, for data_dir")
	data := fs.String("data", "", "data directory holding state.db")
	role := fs.String("role", "viewer", "role of a new user")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	tokName := fs.String("name", "cli", "name of a new token")
	expires := fs.String("expires", "", "token lifetime, e.g. 30d, 12w, 720h; empty: never")
	var devGlobs, treeGlobs globList
	fs.Var(&devGlobs, "device", "scope: a device-name glob such as core-* (repeat or separate by commas)")
	fs.Var(&treeGlobs, "tree", "scope: a site-path glob such as emea or emea/* (repeat or separate by commas)")
	clear := fs.Bool("clear", false, "scope: lift every limit")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return 2
	}
	want := map[string]int{"list": 0, "add": 1, "passwd": 1, "role": 2, "disable": 1, "enable": 1, "delete": 1, "token": 1, "revoke": 2, "scope": 1}
	n, ok := want[sub]
	if !ok {
		fmt.Fprintf(stderr, "saguaro user: unknown subcommand %q\n%s", sub, userUsage)
		return 2
	}
	if len(pos) != n {
		fmt.Fprintf(stderr, "saguaro user %s: want %d argument(s), got %d\n%s", sub, n, len(pos), userUsage)
		return 2
	}
	dir := *data
	if dir == "" {
		cfg, err := config.Load(*cfgFile)
		if err != nil {
			fmt.Fprintf(stderr, "saguaro user: %v\n", err)
			return 1
		}
		dir = cfg.DataDir
	}
	store, err := auth.Open(filepath.Join(dir, stateDBName))
	if err != nil {
		fmt.Fprintf(stderr, "saguaro user: %v\n", err)
		return 1
	}
	defer store.Close()

	password := func() (string, bool, error) {
		if !*fromStdin {
			return randomPassword(), true, nil
		}
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", false, err
		}
		return strings.TrimRight(line, "\r\n"), false, nil
	}
	err = func() error {
		switch sub {
		case "list":
			return listUsers(store, stdout)
		case "add":
			r, err := auth.ParseRole(*role)
			if err != nil {
				return err
			}
			pw, made, err := password()
			if err != nil {
				return err
			}
			if _, err := store.AddUser(pos[0], r, pw); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "added %s (%s)\n", pos[0], r)
			if made {
				fmt.Fprintf(stdout, "password: %s\n", pw)
			}
		case "passwd":
			pw, made, err := password()
			if err != nil {
				return err
			}
			if err := store.SetPassword(pos[0], pw); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "password of %s changed; their sessions ended\n", pos[0])
			if made {
				fmt.Fprintf(stdout, "password: %s\n", pw)
			}
		case "role":
			r, err := auth.ParseRole(pos[1])
			if err != nil {
				return err
			}
			if err := store.SetRole(pos[0], r); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s is now %s\n", pos[0], r)
		case "disable", "enable":
			if err := store.SetDisabled(pos[0], sub == "disable"); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s %sd\n", pos[0], sub)
		case "delete":
			if err := store.DeleteUser(pos[0]); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "deleted %s\n", pos[0])
		case "token":
			var exp time.Time
			if *expires != "" {
				md, err := model.ParseDuration(*expires)
				d := time.Duration(md)
				if err != nil || d <= 0 {
					return fmt.Errorf("--expires %q: want a positive duration such as 30d or 720h", *expires)
				}
				exp = time.Now().Add(d)
			}
			plain, info, err := store.NewToken(pos[0], *tokName, exp)
			if err != nil {
				return err
			}
			fmt.Fprintf(stderr, "token %d (%s) for %s; it is shown once:\n", info.ID, info.Name, pos[0])
			fmt.Fprintln(stdout, plain)
		case "revoke":
			var id int64
			if _, err := fmt.Sscan(pos[1], &id); err != nil {
				return fmt.Errorf("token id %q is not a number (see saguaro user list)", pos[1])
			}
			if err := store.RevokeToken(pos[0], id); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "token %d of %s revoked\n", id, pos[0])
		case "scope":
			return scopeCmd(store, pos[0], devGlobs, treeGlobs, *clear, stdout)
		}
		return nil
	}()
	if err != nil {
		fmt.Fprintf(stderr, "saguaro user %s: %v\n", sub, err)
		return 1
	}
	return 0
}

// scopeCmd shows a user's scope, replaces it with the globs given, or
// clears it.
func scopeCmd(store *auth.Store, user string, devs, trees []string, clear bool, w io.Writer) error {
	switch {
	case clear && len(devs)+len(trees) > 0:
		return errors.New("--clear takes no --device or --tree")
	case clear:
		if err := store.SetScope(user, auth.Scope{}); err != nil {
			return err
		}
	case len(devs)+len(trees) > 0:
		if err := store.SetScope(user, auth.Scope{Devices: devs, Trees: trees}); err != nil {
			return err
		}
	}
	sc, err := store.Scope(user)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s sees %s\n", user, describeScope(sc))
	return nil
}

// describeScope says what a scope lets through, in one line.
func describeScope(sc auth.Scope) string {
	if sc.Unrestricted() {
		return "every device"
	}
	var parts []string
	if len(sc.Devices) > 0 {
		parts = append(parts, "devices "+strings.Join(sc.Devices, " "))
	}
	if len(sc.Trees) > 0 {
		parts = append(parts, "sites "+strings.Join(sc.Trees, " ")+" (and below)")
	}
	return strings.Join(parts, "; ")
}

// globList is a repeatable flag whose values may also be comma-separated.
type globList []string

func (g *globList) String() string { return strings.Join(*g, ",") }

func (g *globList) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*g = append(*g, p)
		}
	}
	return nil
}

// parseInterleaved parses flags that may come before or after the
// positional arguments ("user add bob --role editor").
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func listUsers(store *auth.Store, w io.Writer) error {
	users, err := store.Users()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USER\tROLE\tSTATE\tCREATED\tSCOPE\tTOKENS")
	now := time.Now()
	for _, u := range users {
		toks, err := store.Tokens(u.Name)
		if err != nil {
			return err
		}
		var ts []string
		for _, t := range toks {
			state := "active"
			if !t.Revoked.IsZero() {
				state = "revoked"
			} else if !t.Active(now) {
				state = "expired"
			}
			ts = append(ts, fmt.Sprintf("%d:%s(%s,%s)", t.ID, t.Name, t.Hint, state))
		}
		st := "enabled"
		if u.Disabled {
			st = "disabled"
		}
		sc, err := store.Scope(u.Name)
		if err != nil {
			return err
		}
		scope := "all"
		if !sc.Unrestricted() {
			var ps []string
			for _, p := range sc.Devices {
				ps = append(ps, "device:"+p)
			}
			for _, p := range sc.Trees {
				ps = append(ps, "tree:"+p)
			}
			scope = strings.Join(ps, ",")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", u.Name, u.Role, st, u.Created.Format("2006-01-02"), scope, strings.Join(ts, " "))
	}
	return tw.Flush()
}

// randomPassword makes a 20-character password from an alphabet without
// look-alike characters.
func randomPassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 20)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			panic(err) // crypto/rand does not fail on supported platforms
		}
		b[i] = alphabet[n.Int64()]
	}
	return string(b)
}
