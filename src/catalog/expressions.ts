import jsep from 'jsep';

/**
 * The one module that reads estimate expressions (`2000 + 0.5 * N`, `ceil(N/10)`): it parses them
 * for import and validation, and compiles them into plain functions for selection and telemetry.
 * Nothing here ever reaches eval or Function: evaluation walks the parsed tree.
 */

/** Functions an estimate expression may call, with their meaning (log is the natural logarithm). */
const FUNCTIONS: Record<string, { arity: [number, number]; apply: (...args: number[]) => number }> = {
  ceil: { arity: [1, 1], apply: Math.ceil },
  floor: { arity: [1, 1], apply: Math.floor },
  round: { arity: [1, 1], apply: Math.round },
  min: { arity: [1, Infinity], apply: Math.min },
  max: { arity: [1, Infinity], apply: Math.max },
  abs: { arity: [1, 1], apply: Math.abs },
  sqrt: { arity: [1, 1], apply: Math.sqrt },
  log: { arity: [1, 1], apply: Math.log },
  log2: { arity: [1, 1], apply: Math.log2 },
  log10: { arity: [1, 1], apply: Math.log10 },
  pow: { arity: [2, 2], apply: Math.pow },
};
export const ESTIMATE_FUNCTIONS = new Set(Object.keys(FUNCTIONS));

/** `^` and `**` both raise to a power (right-associative, binding tighter than `*`), never XOR. */
const BINARY_OPERATORS = new Set(['+', '-', '*', '/', '%', '^', '**']);
jsep.removeBinaryOp('^');
jsep.addBinaryOp('^', jsep.binary_ops['**'] ?? 11, true);

/**
 * Variables every caller may rely on, with the values selection and telemetry use when neither the
 * pattern's inputs nor the request give one: the number of items, pages, and a latency in ms.
 */
export const GLOBAL_ESTIMATE_VARIABLES: Readonly<Record<string, number>> = Object.freeze({ N: 100, pages: 1, p95_latency: 1000 });

type Evaluate = (variables: Readonly<Record<string, number>>) => number;

export type ParsedExpression = { ok: true; variables: string[] } | { ok: false; error: string };

/** A parsed expression ready to run: its variables and an evaluator over the tree. */
export interface CompiledEstimate {
  source: string;
  variables: readonly string[];
  evaluate: Evaluate;
}

export type CompileResult = ({ ok: true } & CompiledEstimate) | { ok: false; error: string };

/** The outcome of evaluating one estimate with one set of variables. */
export type EstimateValue =
  | { ok: true; value: number }
  | { ok: false; reason: 'MISSING_VARIABLE'; missing: string[] }
  | { ok: false; reason: 'EXPRESSION_ERROR'; error: string };

/** A compiled subtree: its evaluator, and its value when it reads no variable (folded once, at compile time). */
interface CompiledNode {
  run: Evaluate;
  constant: number | undefined;
}

const constantNode = (value: number): CompiledNode => ({ run: () => value, constant: value });

/**
 * One operator over two evaluators, as a closure of its own (no table lookup or extra call per
 * evaluation): selection evaluates two estimates for every candidate pattern of every request.
 */
function binaryNode(operator: string, left: CompiledNode, right: CompiledNode): CompiledNode {
  const l = left.run;
  const r = right.run;
  let run: Evaluate;
  switch (operator) {
    case '+':
      run = (vars) => l(vars) + r(vars);
      break;
    case '-':
      run = (vars) => l(vars) - r(vars);
      break;
    case '*':
      run = (vars) => l(vars) * r(vars);
      break;
    case '/':
      run = (vars) => l(vars) / r(vars);
      break;
    case '%':
      run = (vars) => l(vars) % r(vars);
      break;
    default:
      run = (vars) => l(vars) ** r(vars);
  }
  // Operands that read no variable are worked out now, by the same closure.
  return left.constant !== undefined && right.constant !== undefined ? constantNode(run({})) : { run, constant: undefined };
}

function callNode(apply: (...args: number[]) => number, args: CompiledNode[]): CompiledNode {
  let run: Evaluate;
  if (args.length === 1) {
    const [a] = args.map((arg) => arg.run) as [Evaluate];
    run = (vars) => apply(a(vars));
  } else if (args.length === 2) {
    const [a, b] = args.map((arg) => arg.run) as [Evaluate, Evaluate];
    run = (vars) => apply(a(vars), b(vars));
  } else {
    const runs = args.map((arg) => arg.run);
    run = (vars) => apply(...runs.map((arg) => arg(vars)));
  }
  return args.every((arg) => arg.constant !== undefined) ? constantNode(run({})) : { run, constant: undefined };
}

function compileNode(node: jsep.Expression, variables: Set<string>): CompiledNode | string {
  switch (node.type) {
    case 'Literal': {
      const value = (node as jsep.Literal).value;
      return typeof value === 'number' ? constantNode(value) : `only numbers are allowed, found ${(node as jsep.Literal).raw}`;
    }
    case 'Identifier': {
      const name = (node as jsep.Identifier).name;
      variables.add(name);
      return { run: (vars) => vars[name]!, constant: undefined };
    }
    case 'UnaryExpression': {
      const unary = node as jsep.UnaryExpression;
      if (unary.operator !== '-' && unary.operator !== '+') return `operator ${unary.operator} is not allowed`;
      const argument = compileNode(unary.argument, variables);
      if (typeof argument === 'string' || unary.operator === '+') return argument;
      if (argument.constant !== undefined) return constantNode(-argument.constant);
      const run = argument.run;
      return { run: (vars) => -run(vars), constant: undefined };
    }
    case 'BinaryExpression': {
      const binary = node as jsep.BinaryExpression;
      if (!BINARY_OPERATORS.has(binary.operator)) return `operator ${binary.operator} is not allowed`;
      const left = compileNode(binary.left, variables);
      if (typeof left === 'string') return left;
      const right = compileNode(binary.right, variables);
      if (typeof right === 'string') return right;
      return binaryNode(binary.operator, left, right);
    }
    case 'CallExpression': {
      const call = node as jsep.CallExpression;
      const name = call.callee.type === 'Identifier' ? (call.callee as jsep.Identifier).name : undefined;
      const fn = name === undefined ? undefined : FUNCTIONS[name];
      if (!fn) return `unknown function; allowed: ${[...ESTIMATE_FUNCTIONS].join(', ')}`;
      const [least, most] = fn.arity;
      if (call.arguments.length < least || call.arguments.length > most) {
        return `${name} takes ${least === most ? least : most === Infinity ? `at least ${least}` : `${least} to ${most}`} argument${most === 1 ? '' : 's'}, found ${call.arguments.length}`;
      }
      const args: CompiledNode[] = [];
      for (const argument of call.arguments) {
        const compiled = compileNode(argument, variables);
        if (typeof compiled === 'string') return compiled;
        args.push(compiled);
      }
      return callNode(fn.apply, args);
    }
    default:
      return `${node.type} is not allowed in an estimate`;
  }
}

/**
 * Parses an estimate such as `2000 + 0.5 * N` or `ceil(N/10)` and compiles it. Anything beyond
 * arithmetic on numbers, variables and the functions above is an error.
 */
export function compileEstimate(source: string): CompileResult {
  let ast: jsep.Expression;
  try {
    ast = jsep(source);
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
  const variables = new Set<string>();
  const compiled = compileNode(ast, variables);
  if (typeof compiled === 'string') return { ok: false, error: compiled };
  return { ok: true, source, variables: [...variables].sort(), evaluate: compiled.run };
}

/** Parses an estimate and lists its variables (import and validation need no evaluator). */
export function parseEstimate(source: string): ParsedExpression {
  const compiled = compileEstimate(source);
  return compiled.ok ? { ok: true, variables: [...compiled.variables] } : { ok: false, error: compiled.error };
}

/**
 * Runs a compiled estimate. Every variable it uses must be present and finite, and the result
 * must be a finite number (a division by zero or `log(0)` is an expression error, not Infinity).
 */
export function evaluateEstimate(estimate: CompiledEstimate, variables: Readonly<Record<string, number>>): EstimateValue {
  const missing = estimate.variables.filter((name) => typeof variables[name] !== 'number' || !Number.isFinite(variables[name]));
  if (missing.length) return { ok: false, reason: 'MISSING_VARIABLE', missing };
  const value = estimate.evaluate(variables);
  if (!Number.isFinite(value)) {
    return { ok: false, reason: 'EXPRESSION_ERROR', error: `${JSON.stringify(estimate.source)} gives ${value} with ${estimate.variables.map((v) => `${v}=${variables[v]}`).join(', ') || 'no variables'}` };
  }
  return { ok: true, value };
}

/** An input declaration as patterns store it (`{name, type, default, …}`); anything else is ignored. */
type DeclaredInput = unknown;

/**
 * The variables an estimate is evaluated with, lowest precedence first: the global defaults, then
 * every numeric `default` the pattern's inputs declare, then the caller's own numbers. Selection and
 * telemetry both use this, so an estimate means the same thing wherever it is evaluated.
 */
export function estimateVariables(
  inputs: { requiredInputs?: readonly DeclaredInput[]; optionalInputs?: readonly DeclaredInput[] },
  supplied: Readonly<Record<string, unknown>> | null | undefined,
): Record<string, number> {
  return withSuppliedVariables(declaredEstimateVariables(inputs), supplied);
}

/**
 * The first two steps of estimateVariables (globals, then the inputs' numeric defaults): what a
 * pattern means before any caller speaks. The in-memory catalog computes it once per revision.
 */
export function declaredEstimateVariables(inputs: {
  requiredInputs?: readonly DeclaredInput[];
  optionalInputs?: readonly DeclaredInput[];
}): Record<string, number> {
  const variables: Record<string, number> = { ...GLOBAL_ESTIMATE_VARIABLES };
  for (const input of [...(inputs.requiredInputs ?? []), ...(inputs.optionalInputs ?? [])]) {
    if (input === null || typeof input !== 'object') continue;
    const { name, default: fallback } = input as { name?: unknown; default?: unknown };
    if (typeof name === 'string' && typeof fallback === 'number' && Number.isFinite(fallback)) variables[name] = fallback;
  }
  return variables;
}

/** The last step of estimateVariables: the caller's finite numbers override the declared ones. */
export function withSuppliedVariables(
  declared: Readonly<Record<string, number>>,
  supplied: Readonly<Record<string, unknown>> | null | undefined,
): Record<string, number> {
  const variables: Record<string, number> = { ...declared };
  for (const [name, value] of Object.entries(supplied ?? {})) {
    if (typeof value === 'number' && Number.isFinite(value)) variables[name] = value;
  }
  return variables;
}
