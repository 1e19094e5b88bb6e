/** What `f` throws (null if it returns): for tests that inspect the thrown value (a FindingStop's finding). */
export function thrown(f: () => void): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return null;
}
