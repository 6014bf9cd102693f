/**
 * Bounds a promise by a deadline. The losing promise keeps running; `Promise.race` has already
 * attached handlers to it, so a late rejection is not reported as unhandled.
 */
export async function withDeadline<T>(work: Promise<T>, deadlineMs: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), deadlineMs);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}
