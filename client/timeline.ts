/** Ids remembered per conversation to drop repeats; far more than one catch-up can overlap with. */
const SEEN_LIMIT = 5_000;

/**
 * What the client knows of one conversation's messages: the ids it has
 * delivered (to drop the repeats a catch-up and live pushes produce), and the
 * cursor a catch-up starts after.
 *
 * The cursor only moves on proof that nothing below it is missing: a live push
 * (the server pushes a conversation's messages in id order) or the last page
 * of a catch-up. An acknowledgement of one's own send does not move it: a
 * message committed just before it may still be on its way.
 */
export class Timeline {
  private cursorId = 0;
  private syncing = false;
  private pushedWhileSyncing = 0;
  private readonly seen = new Set<number>();

  /** Every message with an id up to this one has been delivered. */
  get cursor(): number {
    return this.cursorId;
  }

  get isSyncing(): boolean {
    return this.syncing;
  }

  /** Starts over from what the caller already has (e.g. the newest page of history it shows). */
  resetCursor(id: number): void {
    this.cursorId = id;
  }

  /** Records a delivery; false when this id was delivered already. */
  add(id: number): boolean {
    if (this.seen.has(id)) return false;
    this.seen.add(id);
    if (this.seen.size > SEEN_LIMIT) this.seen.delete(this.seen.values().next().value!);
    return true;
  }

  /** A live push arrived (in id order): while no catch-up is missing, everything up to it is here. */
  pushed(id: number): void {
    if (this.syncing) this.pushedWhileSyncing = Math.max(this.pushedWhileSyncing, id);
    else this.cursorId = Math.max(this.cursorId, id);
  }

  /** A catch-up attempt starts: pushes no longer prove there is no gap until one completes. */
  startSync(): void {
    this.syncing = true;
    this.pushedWhileSyncing = 0;
  }

  /**
   * A catch-up read every page up to `lastId`; whatever was pushed meanwhile
   * came after its pages, on the same connection, so the cursor may pass it too.
   */
  finishSync(lastId: number): void {
    this.cursorId = Math.max(this.cursorId, lastId, this.pushedWhileSyncing);
    this.syncing = false;
  }

  /** A catch-up stopped after reading pages up to `progress`: the gap above it stays open. */
  abortSync(progress: number): void {
    this.cursorId = Math.max(this.cursorId, progress);
  }

  /** The conversation is no longer followed: no catch-up will close the gap, so pushes count again. */
  stopSyncing(): void {
    this.syncing = false;
  }
}
