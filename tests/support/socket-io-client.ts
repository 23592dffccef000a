import { io, type Socket } from 'socket.io-client';

/** A socket.io-client connection as the original clients made it, with a token in the query instead of a userId. */
export function connectSocketIo(baseUrl: string, token: string, transports: string[] = ['websocket']): Promise<Socket> {
  const socket = io(baseUrl, { query: { token }, transports, reconnection: false, forceNew: true });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (error) => {
      socket.disconnect();
      reject(error);
    });
  });
}

/** Emits with a callback, as the original clients did, and resolves with the answer. */
export const emitWithAnswer = (socket: Socket, event: string, data: unknown): Promise<any> => new Promise((resolve) => socket.emit(event, data, resolve));

/** The next `event` matching, or a rejection after `ms`. */
export const nextEvent = (socket: Socket, event: string, match: (d: any) => boolean = () => true, ms = 5_000): Promise<any> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, handler);
      reject(new Error(`no ${event} within ${ms} ms`));
    }, ms);
    const handler = (d: any) => {
      if (!match(d)) return;
      clearTimeout(timer);
      socket.off(event, handler);
      resolve(d);
    };
    socket.on(event, handler);
  });
