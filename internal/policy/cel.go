package policy

import (
	"fmt"
	"slices"

	"cel.dev/cel-go/cel"
	celast "cel.dev/cel-go/common/ast"
)

// The variables a condition sees:
//
//	identity  map: subject, tenant, roles, scopes, client_id, method
//	server    string: the upstream's name
//	kind      string: "tool", "prompt" or "resource"
//	name      string: the tool or prompt name (the upstream's own), or the resource URI
//	tool      map: name, annotations (readOnlyHint, destructiveHint, ... as the server
//	          declared them), tags (from policy.tags)
//	args      map: the call's arguments ({} when none)
//	now       timestamp
//	session   map: tools (["server/tool", ...] already called), tags (tags of those tools),
//	          findings (inspection finding types raised so far)
func newEnv() (*cel.Env, error) {
	dyn := cel.MapType(cel.StringType, cel.DynType)
	return cel.NewEnv(
		cel.Variable("identity", dyn),
		cel.Variable("server", cel.StringType),
		cel.Variable("kind", cel.StringType),
		cel.Variable("name", cel.StringType),
		cel.Variable("tool", dyn),
		cel.Variable("args", dyn),
		cel.Variable("now", cel.TimestampType),
		cel.Variable("session", dyn),
	)
}

// costLimit bounds one evaluation, so that no condition can stall the request path.
const costLimit = 100000

// Checker compiles conditions; its Check is what config validation calls.
type Checker struct{ env *cel.Env }

// NewChecker returns a Checker.
func NewChecker() (*Checker, error) {
	env, err := newEnv()
	if err != nil {
		return nil, err
	}
	return &Checker{env: env}, nil
}

// Check reports why expr is not a valid condition (it must compile and be a bool).
func (c *Checker) Check(expr string) error {
	_, err := c.compile(expr)
	return err
}

// condition is one compiled condition and what a session's Memo may keep of it.
type condition struct {
	prog cel.Program
	// partial is prog for evaluation with args and now unknown (memoNever only): when that
	// gives a value all the same (`"contractor" in identity.roles && args.path ...` for a
	// non-contractor), a Memo keeps it.
	partial      cel.Program
	memo         memoKind
	readsSession bool
	// argsMembers, for a condition that reads args only as args.<member> (has() included)
	// and does not read now, are the members it reads: its value is then a function of
	// those members' values, and a Memo may keep it for the raw JSON they had (byArgs).
	argsMembers []string
	byArgs      bool
}

// compile also works out what a Memo may keep: the value of a condition that reads neither
// args nor now changes, within one session (one identity) and for a given target and tool
// annotations, only with the session's history, and only if it reads session.
func (c *Checker) compile(expr string) (condition, error) {
	var cd condition
	ast, iss := c.env.Compile(expr)
	if iss.Err() != nil {
		return cd, fmt.Errorf("invalid CEL condition: %s", iss.Err())
	}
	if ast.OutputType() != cel.BoolType {
		return cd, fmt.Errorf("CEL condition must be a bool, not %s", ast.OutputType())
	}
	cd.readsSession = readsAny(ast, "session")
	if readsAny(ast, "args") && !readsAny(ast, "now") {
		cd.argsMembers, cd.byArgs = argsBySelect(ast)
	}
	switch {
	case readsAny(ast, "args", "now"):
		cd.memo = memoNever
	case cd.readsSession:
		cd.memo = memoPerHistory
	default:
		cd.memo = memoPerSession
	}
	// Without comprehensions (all, exists, map, filter) a condition's cost is bounded by its
	// own size and the lengths of the lists it tests membership in, so the runtime cost
	// tracker (allocations on every evaluation) would buy nothing.
	var limit []cel.ProgramOption
	if iterates(ast) {
		limit = append(limit, cel.CostLimit(costLimit))
	}
	var err error
	if cd.memo == memoNever {
		if cd.partial, err = c.env.Program(ast, append(limit, cel.EvalOptions(cel.OptPartialEval))...); err != nil {
			return cd, err
		}
	}
	cd.prog, err = c.env.Program(ast, append(limit, cel.EvalOptions(cel.OptOptimize))...)
	return cd, err
}

// readsAny reports whether the expression names any of vars. A comprehension variable of
// the same name counts too: that errs towards evaluating every time.
func readsAny(a *cel.Ast, vars ...string) bool {
	found := false
	celast.PreOrderVisit(a.NativeRep().Expr(), celast.NewExprVisitor(func(e celast.Expr) {
		if e.Kind() == celast.IdentKind {
			for _, v := range vars {
				if e.AsIdent() == v {
					found = true
				}
			}
		}
	}))
	return found
}

// argsBySelect returns the members of args that the expression reads, if it reads args only
// as args.<member> (a selection or a has() test) and no comprehension binds a variable named
// args; otherwise ok is false.
func argsBySelect(a *cel.Ast) (members []string, ok bool) {
	idents, selects, shadowed := 0, 0, false
	celast.PreOrderVisit(a.NativeRep().Expr(), celast.NewExprVisitor(func(e celast.Expr) {
		switch e.Kind() {
		case celast.IdentKind:
			if e.AsIdent() == "args" {
				idents++
			}
		case celast.SelectKind:
			sel := e.AsSelect()
			if op := sel.Operand(); op.Kind() == celast.IdentKind && op.AsIdent() == "args" {
				selects++
				if !slices.Contains(members, sel.FieldName()) {
					members = append(members, sel.FieldName())
				}
			}
		case celast.ComprehensionKind:
			c := e.AsComprehension()
			if c.IterVar() == "args" || c.IterVar2() == "args" || c.AccuVar() == "args" {
				shadowed = true
			}
		}
	}))
	if shadowed || idents != selects {
		return nil, false
	}
	return members, true
}

// iterates reports whether a condition contains a comprehension.
func iterates(a *cel.Ast) bool {
	found := false
	celast.PreOrderVisit(a.NativeRep().Expr(), celast.NewExprVisitor(func(e celast.Expr) {
		if e.Kind() == celast.ComprehensionKind {
			found = true
		}
	}))
	return found
}
