/** The most recent `capacity` ids seen, for de-duplication with bounded memory. */
export class DeliveredIds {
  private readonly ring: number[];
  private readonly set = new Set<number>();
  private next = 0;

  constructor(private readonly capacity: number) {
    this.ring = new Array<number>(capacity);
  }

  has(id: number): boolean {
    return this.set.has(id);
  }

  /** False when the id was already there. */
  add(id: number): boolean {
    if (this.set.has(id)) return false;
    const evicted = this.ring[this.next];
    if (evicted !== undefined) this.set.delete(evicted);
    this.ring[this.next] = id;
    this.next = (this.next + 1) % this.capacity;
    this.set.add(id);
    return true;
  }
}
