// The few jStat functions the experiment statistics use (the package ships no type declarations).
declare module 'jstat' {
  interface JStat {
    normal: { cdf(x: number, mean: number, std: number): number; inv(p: number, mean: number, std: number): number };
    chisquare: { cdf(x: number, dof: number): number };
    /** Regularized incomplete beta I_x(a, b). */
    ibeta(x: number, a: number, b: number): number;
  }
  const jStat: JStat & { jStat: JStat };
  export default jStat;
}
