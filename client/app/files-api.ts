import { ChatError, type ChatClient, type MessageType, type WireError } from '../chat-client.js';

/** Where the bytes of a new upload go (`POST /uploads`): this server, or a presigned URL of the object store. */
interface UploadTicket {
  readonly upload_id: string;
  readonly upload_url: string;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly expires_at: string;
}

/** The message type a file is sent as. */
export const typeOfFile = (file: File): MessageType => (file.type.startsWith('image/') ? 'image' : file.type.startsWith('video/') ? 'video' : 'file');

/**
 * Uploads a file and answers its `upload_id`, for a message's `attachment`.
 * The server checks the size and the type before it takes the bytes, and the
 * bytes' own type when they arrive; either refusal is a ChatError with its code.
 */
export async function uploadFile(client: ChatClient, file: File): Promise<string> {
  const ticket = await client.rest<UploadTicket>('POST', '/uploads', {
    name: file.name,
    mime_type: file.type || 'application/octet-stream',
    size: file.size,
  });
  // The URL is signed (this server's, or the object store's presigned one): it takes exactly the headers it names.
  const target = new URL(ticket.upload_url, location.href);
  let response: Response;
  try {
    response = await fetch(target, { method: ticket.method, headers: ticket.headers, body: file });
  } catch (error) {
    throw new ChatError('NETWORK', `Could not upload ${file.name}: ${String(error)}`);
  }
  if (!response.ok) {
    const text = await response.text();
    let error: WireError | undefined;
    try {
      error = (JSON.parse(text) as { error?: WireError }).error;
    } catch {
      error = undefined;
    }
    throw new ChatError(error?.code ?? 'INTERNAL', error?.message ?? `The upload was refused (HTTP ${response.status})`, error?.details, response.status);
  }
  return ticket.upload_id;
}

/** "812 B", "35 KB", "4.2 MB". */
export function sizeLabel(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1_000_000) return `${Math.round(bytes / 1000)} KB`;
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}
