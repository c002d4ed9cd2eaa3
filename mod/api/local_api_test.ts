import assert from "node:assert/strict";
import { localApiPath, localTokenFile, netnsId, recordLocalApi } from "./local_api.ts";

/** A temp folder with a `run` folder to come and go inside it. */
function withRunDir(fn: (dir: string) => void): void {
  const root = Deno.makeTempDirSync();
  try {
    fn(`${root}/run`);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
}

Deno.test("local api: a unit's record leads the CLI to its token file, in this namespace only", () => {
  withRunDir((dir) => {
    assert.equal(localTokenFile("127.0.0.1:9090", dir), undefined, "nothing recorded yet");
    const r = recordLocalApi("127.0.0.1:9090", "/etc/tandem/api.token", dir);
    assert.equal(localTokenFile("127.0.0.1:9090", dir), "/etc/tandem/api.token");
    assert.equal(localTokenFile("127.0.0.1:9091", dir), undefined, "another port");
    assert.equal(Deno.statSync(localApiPath("127.0.0.1:9090", dir)).mode! & 0o777, 0o600);
    assert.equal(Deno.statSync(dir).mode! & 0o777, 0o700);
    assert.equal(localTokenFile("127.0.0.1:9090", dir, () => false), undefined, "its unit died");
    r.remove();
    assert.equal(localTokenFile("127.0.0.1:9090", dir), undefined, "removed at exit");
    assert.throws(
      () => Deno.statSync(dir),
      Deno.errors.NotFound,
      "the last one out takes the folder",
    );
  });
});

Deno.test("local api: a record another unit replaced is not removed by the old one", () => {
  withRunDir((dir) => {
    const r = recordLocalApi("127.0.0.1:9090", "/old", dir);
    const path = localApiPath("127.0.0.1:9090", dir);
    Deno.writeTextFileSync(path, JSON.stringify({ api: "x", tokenFile: "/new", pid: 1 }));
    r.remove();
    assert.equal(JSON.parse(Deno.readTextFileSync(path)).tokenFile, "/new");
  });
});

Deno.test("local api: the namespace id comes from /proc/self/ns/net", () => {
  assert.equal(netnsId(() => "net:[4026532123]"), "4026532123");
  assert.equal(
    netnsId(() => {
      throw new Error("no /proc");
    }),
    "host",
  );
  assert.match(
    localApiPath("127.0.0.1:9090", "/run/tandem", "77"),
    /\/run\/tandem\/api-77-9090\.json$/,
  );
});
