/** `min / median / max` of some numbers, rounded, for reports. */
export function spread(values: readonly number[]): string {
  if (values.length === 0) return 'n/a'
  const sorted = [...values].sort((a, b) => a - b)
  const at = (q: number): number => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number)
  return `${at(0)} / ${at(0.5)} / ${at(1)}`
}
