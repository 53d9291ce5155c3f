/**
 * Writing recordings: a header line, then one event per line. The writer checks what the reader
 * checks (time order, complete events), so a file it writes always reads back.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { VdiguardError } from '../../lib/errors.js';
import { formatEvent, formatHeader, LineError, parseEventLine, parseHeaderLine, type RecordingHeader } from './format.js';

export class RecordingWriter {
  private lastTime = Number.NaN;
  private count = 0;

  private constructor(
    private readonly file: string,
    private readonly stream: WriteStream,
  ) {}

  /** Creates (or replaces) `file` and writes the header. */
  static async create(file: string, header: RecordingHeader): Promise<RecordingWriter> {
    const line = formatHeader(header);
    try {
      parseHeaderLine(line.slice(0, -1));
    } catch (err) {
      if (err instanceof LineError) throw new VdiguardError('invalid-argument', `${file}: bad header: ${err.message}`);
      throw err;
    }
    const stream = createWriteStream(file);
    await Promise.race([
      once(stream, 'open'),
      once(stream, 'error').then(([err]) => {
        throw new VdiguardError('invalid-argument', `${file}: cannot write (${(err as Error).message})`);
      }),
    ]);
    const w = new RecordingWriter(file, stream);
    await w.put(line);
    return w;
  }

  /** Events written so far. */
  get written(): number {
    return this.count;
  }

  /** Appends events; they must continue the time order of what was written. */
  async write(events: readonly InputEvent[]): Promise<void> {
    let text = '';
    for (const e of events) {
      const line = formatEvent(e);
      try {
        parseEventLine(line.slice(0, -1), this.lastTime);
      } catch (err) {
        if (err instanceof LineError) {
          throw new VdiguardError('invalid-argument', `${this.file}: event ${this.count + 1} not written: ${err.message}`);
        }
        throw err;
      }
      this.lastTime = e.timeMs;
      this.count += 1;
      text += line;
      if (text.length > 65536) {
        await this.put(text);
        text = '';
      }
    }
    if (text.length > 0) await this.put(text);
  }

  /** Flushes and closes the file. */
  async close(): Promise<void> {
    this.stream.end();
    await once(this.stream, 'finish');
  }

  private async put(text: string): Promise<void> {
    if (!this.stream.write(text)) await once(this.stream, 'drain');
  }
}

/** Writes a whole recording in one go. */
export async function writeRecording(file: string, header: RecordingHeader, events: readonly InputEvent[]): Promise<void> {
  const w = await RecordingWriter.create(file, header);
  await w.write(events);
  await w.close();
}
