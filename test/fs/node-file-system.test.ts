import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "ava";
import { NodeFileSystem } from "../../src/fs/node-file-system.js";
import { MemraftError } from "../../src/util/errors.js";

test("files written through the node file system read back, rename, link and list", async (t) => {
  const root = mkdtempSync(join(tmpdir(), "memraft-fs-"));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const fs = new NodeFileSystem();
  await fs.mkdir(join(root, "a/b"));
  const path = join(root, "a/b/file");
  const file = await fs.create(path);
  await file.append([Buffer.from("hello "), Buffer.from("world")]);
  t.is(file.size, 11);
  await file.sync();
  await file.close();
  await fs.syncDirectory(join(root, "a/b"));
  const appender = await fs.openAppend(path);
  t.is(appender.size, 11);
  await appender.append(Buffer.from("!"));
  await appender.close();
  const reader = await fs.openRead(path);
  t.is(await reader.size(), 12);
  t.is((await reader.read(6, 100)).toString(), "world!");
  await reader.close();
  await fs.link(path, join(root, "a/b/link"));
  await fs.rename(path, join(root, "a/b/moved"));
  t.deepEqual(await fs.list(join(root, "a/b")), ["link", "moved"]);
  await fs.truncate(join(root, "a/b/link"), 5);
  t.is((await fs.readFile(join(root, "a/b/moved"))).toString(), "hello");
  await fs.remove(join(root, "a/b/link"));
  t.false(await fs.exists(join(root, "a/b/link")));
  await fs.remove(join(root, "a/b/moved"));
  await fs.removeDirectory(join(root, "a/b"));
  t.deepEqual(await fs.list(join(root, "a")), []);
});

test("a missing file is an I/O error that names the path", async (t) => {
  const fs = new NodeFileSystem();
  const error = await t.throwsAsync(fs.readFile("/nonexistent/memraft/file"));
  t.true(MemraftError.is(error, "ERR_IO"));
  t.regex(error?.message ?? "", /\/nonexistent\/memraft\/file.*ENOENT/);
});

test("closing a file while reads are in flight lets them finish with the right bytes", async (t) => {
  const root = mkdtempSync(join(tmpdir(), "memraft-fs-"));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const fs = new NodeFileSystem();
  const path = join(root, "data");
  const bytes = Buffer.from(Array.from({ length: 1 << 16 }, (_, i) => i & 0xff));
  const file = await fs.create(path);
  await file.append(bytes);
  await file.close();
  const reader = await fs.openRead(path);
  const reads = Array.from({ length: 32 }, (_, i) => reader.read(i * 2048, 2048));
  const closed = reader.close();
  const results = await Promise.all(reads);
  await closed;
  for (const [i, result] of results.entries()) {
    t.true(result.equals(bytes.subarray(i * 2048, (i + 1) * 2048)), `read ${i}`);
  }
  await t.throwsAsync(reader.read(0, 1), { message: /read .* failed/ });
});

test("two closes while reads are in flight both finish", async (t) => {
  const root = mkdtempSync(join(tmpdir(), "memraft-fs-"));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const fs = new NodeFileSystem();
  const path = join(root, "data");
  const file = await fs.create(path);
  await file.append(Buffer.alloc(1 << 16, 7));
  await file.close();
  const reader = await fs.openRead(path);
  const reads = Array.from({ length: 16 }, (_, i) => reader.read(i * 4096, 4096));
  const closes = [reader.close(), reader.close()];
  await Promise.all(reads);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<"stuck">((resolve) => {
    timer = setTimeout(() => resolve("stuck"), 5000);
  });
  t.deepEqual(await Promise.race([Promise.all(closes), deadline]), [undefined, undefined]);
  clearTimeout(timer);
});
