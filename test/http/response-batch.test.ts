import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createResponseBatch } from '../../src/http/response-batch.ts';

/** A response that records what is written to it (and can be made to fail). */
function recordingResponse(log: string[], name: string, options: { failing?: boolean } = {}) {
  const res = {
    destroyed: false,
    writeHead(status: number, headers: string[]) {
      if (options.failing) throw new Error('socket gone');
      log.push(`${name} head ${status} ${headers.join(' ')}`);
      return res;
    },
    end(body: Buffer) {
      log.push(`${name} end ${body.toString()}`);
      return res;
    },
    destroy() {
      res.destroyed = true;
      log.push(`${name} destroyed`);
    },
  };
  return res as unknown as ServerResponse & { destroyed: boolean };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('writing verify answers in batches', () => {
  it('writes the answers of one event-loop turn together, after the turn, in order', async () => {
    const log: string[] = [];
    const batch = createResponseBatch();
    batch.send(recordingResponse(log, 'first'), Buffer.from('{"a":1}'), 0);
    batch.send(recordingResponse(log, 'second'), Buffer.from('{"b":22}'), 0);
    await Promise.resolve();
    expect(log).toEqual([]);
    expect(batch.pending).toBe(2);

    await nextTurn();
    expect(log).toEqual([
      'first head 200 content-type application/json; charset=utf-8 content-length 7',
      'first end {"a":1}',
      'second head 200 content-type application/json; charset=utf-8 content-length 8',
      'second end {"b":22}',
    ]);
    expect(batch.pending).toBe(0);
  });

  it('writes every other answer when one response fails, and closes the failed one', async () => {
    const log: string[] = [];
    const batch = createResponseBatch();
    const broken = recordingResponse(log, 'broken', { failing: true });
    batch.send(broken, Buffer.from('{}'), 0);
    batch.send(recordingResponse(log, 'fine'), Buffer.from('{}'), 0);
    await nextTurn();
    expect(broken.destroyed).toBe(true);
    expect(log).toContain('fine end {}');
  });

  it('reports each written answer with the start time it was queued with', async () => {
    const written: number[] = [];
    const batch = createResponseBatch({ onWritten: (started) => written.push(started) });
    batch.send(recordingResponse([], 'a'), Buffer.from('{}'), 11);
    batch.send(recordingResponse([], 'b'), Buffer.from('{}'), 22);
    expect(written).toEqual([]);
    await nextTurn();
    expect(written).toEqual([11, 22]);
  });

  it('answers queued while a batch is written go out in the next turn, not never', async () => {
    const log: string[] = [];
    const batch = createResponseBatch({
      onWritten: () => {
        if (log.length < 4) batch.send(recordingResponse(log, 'late'), Buffer.from('{}'), 0);
      },
    });
    batch.send(recordingResponse(log, 'early'), Buffer.from('{}'), 0);
    await nextTurn();
    expect(log.filter((line) => line.startsWith('late end'))).toHaveLength(0);
    await nextTurn();
    expect(log.filter((line) => line.startsWith('late end'))).toHaveLength(1);
  });
});
