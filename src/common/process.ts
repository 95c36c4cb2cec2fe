/**
 * Whether a process with this pid exists on this host. Signal 0 only checks: EPERM means it exists but belongs to
 * another user, so only ESRCH ("no such process") counts as gone. Not a positive integer: not a process (0 and
 * negative numbers would address process groups).
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== "ESRCH";
  }
}
