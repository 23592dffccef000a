/** Which connections follow which conversations, both ways, for fan-out and resync. */
export class Followers<S> {
  private readonly byConversation = new Map<number, Set<S>>();
  private readonly bySocket = new Map<S, Set<number>>();

  follow(socket: S, conversationId: number): void {
    let sockets = this.byConversation.get(conversationId);
    if (!sockets) this.byConversation.set(conversationId, (sockets = new Set()));
    sockets.add(socket);
    let ids = this.bySocket.get(socket);
    if (!ids) this.bySocket.set(socket, (ids = new Set()));
    ids.add(conversationId);
  }

  unfollow(socket: S, conversationId: number): void {
    const sockets = this.byConversation.get(conversationId);
    sockets?.delete(socket);
    if (sockets?.size === 0) this.byConversation.delete(conversationId);
    this.bySocket.get(socket)?.delete(conversationId);
  }

  /** Makes the socket follow exactly these conversations. */
  set(socket: S, conversationIds: readonly number[]): void {
    const wanted = new Set(conversationIds);
    for (const id of [...(this.bySocket.get(socket) ?? [])]) if (!wanted.has(id)) this.unfollow(socket, id);
    for (const id of wanted) this.follow(socket, id);
  }

  drop(socket: S): void {
    for (const id of [...(this.bySocket.get(socket) ?? [])]) this.unfollow(socket, id);
    this.bySocket.delete(socket);
  }

  of(conversationId: number): ReadonlySet<S> {
    return this.byConversation.get(conversationId) ?? EMPTY;
  }

  conversationIds(): number[] {
    return [...this.byConversation.keys()];
  }
}

const EMPTY: ReadonlySet<never> = new Set();
