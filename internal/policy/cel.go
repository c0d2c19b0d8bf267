package policy

import (
	"fmt"

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

func (c *Checker) compile(expr string) (cel.Program, error) {
	ast, iss := c.env.Compile(expr)
	if iss.Err() != nil {
		return nil, fmt.Errorf("invalid CEL condition: %s", iss.Err())
	}
	if ast.OutputType() != cel.BoolType {
		return nil, fmt.Errorf("CEL condition must be a bool, not %s", ast.OutputType())
	}
	if !iterates(ast) {
		// Without comprehensions (all, exists, map, filter) a condition's cost is bounded by
		// its own size and the lengths of the lists it tests membership in, so the runtime
		// cost tracker (allocations on every evaluation) would buy nothing.
		return c.env.Program(ast, cel.EvalOptions(cel.OptOptimize))
	}
	return c.env.Program(ast, cel.CostLimit(costLimit), cel.EvalOptions(cel.OptOptimize))
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
