/** Nested maps, one level per label value. */
type Level = Map<string, unknown>;

/**
 * The series of a labelled metric by their label values (up to four), each made once by `make`
 * and then found through nested maps, one level per label: no key string joined per lookup (a
 * joined key costs its concatenations and their flattening on every request).
 */
export class SeriesCache<T> {
  private readonly root: Level = new Map();

  /** @param make builds the series of label values `a` to `d` (the unused ones are '') */
  constructor(private readonly make: (a: string, b: string, c: string, d: string) => T) {}

  /** The series of these label values; made on first use. Labels left out are ''. */
  get(a: string, b = '', c = '', d = ''): T {
    const leaves = level(level(level(this.root, a), b), c);
    let series = leaves.get(d) as T | undefined;
    if (series === undefined) leaves.set(d, (series = this.make(a, b, c, d)));
    return series;
  }
}

/** The map below `key`, made on first use. */
function level(map: Level, key: string): Level {
  let next = map.get(key) as Level | undefined;
  if (next === undefined) map.set(key, (next = new Map()));
  return next;
}
