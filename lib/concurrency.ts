/** Runs `run` over `items` with at most `n` running at a time, taking items in order. */
export async function forEachConcurrently<T>(items: readonly T[], n: number, run: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await run(items[i] as T, i);
      }
    }),
  );
}
