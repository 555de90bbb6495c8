import jsep from 'jsep';

/** Functions an estimate expression may call. */
export const ESTIMATE_FUNCTIONS = new Set(['ceil', 'floor', 'round', 'min', 'max', 'abs', 'sqrt', 'log', 'log2', 'log10', 'pow']);
const OPERATORS = new Set(['+', '-', '*', '/', '%', '^', '**']);

export type ParsedExpression = { ok: true; variables: string[] } | { ok: false; error: string };

/**
 * Parses an estimate such as `2000 + 0.5 * N` or `ceil(N/10)` into an AST (never evaluated here,
 * never passed to eval/Function) and lists its variables. Anything beyond arithmetic on numbers,
 * variables and the functions above is an error.
 */
export function parseEstimate(source: string): ParsedExpression {
  let ast: jsep.Expression;
  try {
    ast = jsep(source);
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
  const variables = new Set<string>();
  const visit = (node: jsep.Expression): string | undefined => {
    switch (node.type) {
      case 'Literal':
        return typeof (node as jsep.Literal).value === 'number' ? undefined : `only numbers are allowed, found ${(node as jsep.Literal).raw}`;
      case 'Identifier':
        variables.add((node as jsep.Identifier).name);
        return undefined;
      case 'UnaryExpression': {
        const unary = node as jsep.UnaryExpression;
        if (unary.operator !== '-' && unary.operator !== '+') return `operator ${unary.operator} is not allowed`;
        return visit(unary.argument);
      }
      case 'BinaryExpression': {
        const binary = node as jsep.BinaryExpression;
        if (!OPERATORS.has(binary.operator)) return `operator ${binary.operator} is not allowed`;
        return visit(binary.left) ?? visit(binary.right);
      }
      case 'CallExpression': {
        const call = node as jsep.CallExpression;
        if (call.callee.type !== 'Identifier' || !ESTIMATE_FUNCTIONS.has((call.callee as jsep.Identifier).name)) {
          return `unknown function; allowed: ${[...ESTIMATE_FUNCTIONS].join(', ')}`;
        }
        for (const argument of call.arguments) {
          const problem = visit(argument);
          if (problem) return problem;
        }
        return undefined;
      }
      default:
        return `${node.type} is not allowed in an estimate`;
    }
  };
  const problem = visit(ast);
  return problem ? { ok: false, error: problem } : { ok: true, variables: [...variables].sort() };
}
