/**
 * The real fit worker, except that a request for the modality 'crash' kills the thread instead of
 * being answered: what the pool's crash test needs (an out-of-memory abort or a native fault in a
 * backend looks the same to the pool).
 */
import { parentPort } from 'node:worker_threads';
import type { FitReply } from '../models/fit-pool.js';

const port = parentPort;
if (port) {
  const post = port.postMessage.bind(port);
  port.postMessage = (reply: FitReply) => {
    if (!reply.ok && reply.message.includes('"crash"')) process.exit(70);
    post(reply);
  };
}
await import('../models/fit-worker.js');
