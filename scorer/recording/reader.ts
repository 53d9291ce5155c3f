/**
 * Reading recordings. RecordingParser is a pure state machine fed text chunks split anywhere;
 * readRecording streams a file through it in batches, so files of tens of MB never sit in memory.
 */
import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { VdiguardError } from '../../lib/errors.js';
import { LineError, MAX_LINE_CHARS, parseEventLine, parseHeaderLine, type RecordingHeader } from './format.js';

/** A recording problem with its place: the message names the file, line, what and what to do. */
function placed(file: string, line: number, err: LineError): VdiguardError {
  return new VdiguardError('invalid-argument', `${file}:${line}: ${err.message}; ${err.hint}`, { cause: err });
}

export class RecordingParser {
  private pending = '';
  private lineNo = 0;
  private lastTime = Number.NaN;
  private headerValue: RecordingHeader | undefined;

  /** `file` only names the source in error messages. */
  constructor(private readonly file: string) {}

  /** The header, once its line has been parsed. */
  get header(): RecordingHeader | undefined {
    return this.headerValue;
  }

  /** Feeds text; returns the events of every line completed by it. Throws on the first bad line. */
  push(chunk: string, out: InputEvent[] = []): InputEvent[] {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf('\n', start);
      if (nl < 0) break;
      const line = this.pending + chunk.slice(start, nl);
      this.pending = '';
      start = nl + 1;
      this.line(line, out);
    }
    this.pending += chunk.slice(start);
    if (this.pending.length > MAX_LINE_CHARS) {
      this.lineNo += 1;
      throw placed(this.file, this.lineNo, new LineError(`line is over the limit of ${MAX_LINE_CHARS} characters`, 'the file is corrupt; re-create it'));
    }
    return out;
  }

  /** Ends the input: checks the last line and that there was a header. */
  end(out: InputEvent[] = []): InputEvent[] {
    if (this.pending.length > 0) {
      const rest = this.pending;
      this.pending = '';
      try {
        this.line(rest, out);
      } catch (err) {
        if (!(err instanceof VdiguardError)) throw err;
        throw new VdiguardError(
          'invalid-argument',
          `${this.file}:${this.lineNo}: truncated last line (no newline at the end, and it does not parse: ${(err.cause as Error).message}); the file was cut short, re-create or re-copy it`,
        );
      }
    }
    if (this.headerValue === undefined) {
      throw placed(this.file, 1, new LineError('missing header: the file is empty', `a recording starts with a header line {"format":"vdiguard.recording.v1",...}`));
    }
    return out;
  }

  private line(raw: string, out: InputEvent[]): void {
    this.lineNo += 1;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    try {
      if (this.headerValue === undefined) {
        if (line.trim() === '') throw new LineError('missing header: the first line is empty', 'a recording starts with its header line');
        this.headerValue = parseHeaderLine(line);
        return;
      }
      if (line.trim() === '') throw new LineError('empty line', 'remove blank lines');
      const e = parseEventLine(line, this.lastTime);
      this.lastTime = e.timeMs;
      out.push(e);
    } catch (err) {
      if (err instanceof LineError) throw placed(this.file, this.lineNo, err);
      throw err;
    }
  }
}

export interface ReadOptions {
  /** Events per batch (default 4096). */
  batchSize?: number;
}

export interface Recording {
  header: RecordingHeader;
  /** The events in batches; iterate once. Throws VdiguardError at the first bad line. */
  batches: AsyncIterable<InputEvent[]>;
}

/**
 * Opens a recording: reads until the header is known and returns it with an iterator over the
 * remaining events in batches.
 */
export async function readRecording(file: string, options: ReadOptions = {}): Promise<Recording> {
  const batchSize = options.batchSize ?? 4096;
  const parser = new RecordingParser(file);
  const decoder = new StringDecoder('utf8');
  let stream: AsyncIterable<Buffer>;
  try {
    stream = createReadStream(file, { highWaterMark: 256 * 1024 });
  } catch (err) {
    throw new VdiguardError('invalid-argument', `${file}: cannot open (${(err as Error).message})`);
  }
  const iterator = stream[Symbol.asyncIterator]();
  let buffered: InputEvent[] = [];
  let done = false;

  const pull = async (): Promise<void> => {
    let r: IteratorResult<Buffer>;
    try {
      r = await iterator.next();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const what = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder, not a recording file' : (err as Error).message;
      throw new VdiguardError(code === 'ENOENT' ? 'not-found' : 'invalid-argument', `${file}: ${what}`);
    }
    if (r.done) {
      parser.push(decoder.end(), buffered);
      parser.end(buffered);
      done = true;
    } else {
      parser.push(decoder.write(r.value), buffered);
    }
  };

  while (parser.header === undefined && !done) await pull();
  const header = parser.header as RecordingHeader;

  async function* batches(): AsyncGenerator<InputEvent[]> {
    for (;;) {
      while (buffered.length < batchSize && !done) await pull();
      if (buffered.length === 0) return;
      if (buffered.length <= batchSize) {
        const b = buffered;
        buffered = [];
        yield b;
      } else {
        const b = buffered.slice(0, batchSize);
        buffered = buffered.slice(batchSize);
        yield b;
      }
    }
  }
  return { header, batches: batches() };
}

/** Reads a whole recording into memory (tests, small files). */
export async function readRecordingEvents(file: string): Promise<{ header: RecordingHeader; events: InputEvent[] }> {
  const { header, batches } = await readRecording(file);
  const events: InputEvent[] = [];
  for await (const b of batches) for (const e of b) events.push(e);
  return { header, events };
}
