"""pull.py IMAGE ROOT URL...: the root file system of IMAGE, for this machine's platform, in
ROOT/rootfs, its environment in ROOT/image.env and its manifest digest in ROOT/digest (shipyard
internal/provision). URL... are the registry's base URLs, mirrors first. Every manifest and layer
is checked against its digest; IMAGE@sha256:... pins the image. Nothing is done when ROOT/digest
already names the image it resolves to. Layers are unpacked by GNU tar (whiteouts and type changes
applied first, from its listing); a layer tar cannot unpack, or every layer when there is no tar or
SHIPYARD_PULL_NO_TAR=1 (the portable path, for tests and comparisons), is unpacked in Python."""
import gzip, hashlib, json, os, platform, re, shutil, subprocess, sys, tarfile, tempfile, urllib.error, urllib.parse, urllib.request

image, root, sources = sys.argv[1], sys.argv[2], sys.argv[3:]
m = re.fullmatch(r"[^/]+/([^:@]+)(?::([^@]+))?(?:@(sha256:[0-9a-f]{64}))?", image)
repo, tag, pin = m.groups()
arch = {"aarch64": "arm64", "arm64": "arm64", "x86_64": "amd64"}.get(platform.machine(), platform.machine())
INDEX = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")
ACCEPT = ", ".join(INDEX + ("application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"))
tokens = {}


def say(msg):
    print("shipyard-builder: pull: " + msg, flush=True)


def get(base, path, accept=ACCEPT):
    """The response to GET base/v2/repo/path, with an anonymous token when the registry asks."""
    url = "%s/v2/%s/%s" % (base, repo, path)
    for _ in range(2):
        req = urllib.request.Request(url, headers={"Accept": accept, "User-Agent": "shipyard-builder"})
        if base in tokens:
            req.add_header("Authorization", "Bearer " + tokens[base])
        try:
            return urllib.request.urlopen(req, timeout=60)
        except urllib.error.HTTPError as e:
            challenge = e.headers.get("WWW-Authenticate", "")
            if e.code != 401 or not challenge.startswith("Bearer ") or base in tokens:
                raise
            params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
            query = urllib.parse.urlencode({k: v for k, v in params.items() if k in ("service", "scope")})
            with urllib.request.urlopen(params["realm"] + "?" + query, timeout=60) as r:
                body = json.load(r)
            tokens[base] = body.get("token") or body.get("access_token")
    raise RuntimeError("%s: unauthorized" % url)


def fetch(base, ref, digest=None):
    """A manifest (bytes, media type, digest), checked against digest when given."""
    with get(base, "manifests/" + ref) as r:
        body, media = r.read(), r.headers.get("Content-Type", "").split(";")[0]
    got = "sha256:" + hashlib.sha256(body).hexdigest()
    if digest and got != digest:
        raise RuntimeError("manifest %s has digest %s" % (digest, got))
    return json.loads(body), media, got


def blob(base, digest, dst):
    h = hashlib.sha256()
    with get(base, "blobs/" + digest, "*/*") as r, open(dst, "wb") as f:
        for chunk in iter(lambda: r.read(1 << 20), b""):
            h.update(chunk)
            f.write(chunk)
    if "sha256:" + h.hexdigest() != digest:
        raise RuntimeError("blob %s has digest sha256:%s" % (digest, h.hexdigest()))


def resolve(base):
    top, media, digest = fetch(base, pin or tag, pin)
    if media in INDEX or "manifests" in top:
        want = [d for d in top["manifests"] if d.get("platform", {}).get("os") == "linux" and d["platform"].get("architecture") == arch]
        if not want:
            raise RuntimeError("%s has no linux/%s image" % (image, arch))
        top, _, digest = fetch(base, want[0]["digest"], want[0]["digest"])
    return top, digest


def remove(p):
    shutil.rmtree(p) if os.path.isdir(p) and not os.path.islink(p) else os.unlink(p)


def unpack(layer, rootfs):
    """Apply one layer in Python: whiteouts remove what lower layers put there."""
    extra = {"filter": "fully_trusted"} if hasattr(tarfile, "fully_trusted_filter") else {}
    with tarfile.open(layer, "r:*") as t:
        for mem in t:
            name = os.path.normpath(mem.name.lstrip("/"))
            if name == "." or name.startswith(".."):
                continue
            parent, base = os.path.split(name)
            if base == ".wh..wh..opq":
                d = os.path.join(rootfs, parent)
                for e in os.listdir(d) if os.path.isdir(d) else []:
                    remove(os.path.join(d, e))
                continue
            path = os.path.join(rootfs, name)
            if base.startswith(".wh."):
                path = os.path.join(rootfs, parent, base[4:])
            if os.path.lexists(path) and not (mem.isdir() and os.path.isdir(path) and not os.path.islink(path)):
                remove(path)
            if not base.startswith(".wh."):
                mem.name = name
                t.extract(mem, rootfs, numeric_owner=True, **extra)


def tar(*args):
    r = subprocess.run(("tar",) + args, env=dict(os.environ, LC_ALL="C"), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode:
        why = [l for l in r.stderr.decode(errors="replace").splitlines() if "Exiting with failure" not in l] or ["exit status %d" % r.returncode]
        raise RuntimeError("tar %s: %s" % (args[0], why[-1].replace("tar: ", "", 1)))
    return r.stdout


def inside(rootfs, name):
    """rootfs/name, or None when a symlink on the way leads out of rootfs."""
    top, d = os.path.realpath(rootfs), os.path.realpath(os.path.join(rootfs, os.path.dirname(name)))
    return os.path.join(rootfs, name) if d == top or d.startswith(top + os.sep) else None


def gunzip(layer):
    """layer as a plain tar: a gzip layer is decompressed once, here, not by each tar reading it."""
    with open(layer, "rb") as f:
        if f.read(2) != b"\x1f\x8b":
            return layer
        f.seek(0)
        with gzip.GzipFile(fileobj=f) as z, open(layer + ".tar", "wb") as out:
            shutil.copyfileobj(z, out, 1 << 20)
    os.unlink(layer)
    return layer + ".tar"


ESC = {b"a": b"\a", b"b": b"\b", b"f": b"\f", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"v": b"\v"}


def untar(layer, rootfs):
    """Apply one layer with GNU tar: first, from its listing (names C-quoted), its whiteouts and
    what its members replace (a directory by a non-directory, a file or symlink by a directory) in
    the lower layers, then its members but the whiteouts, with their numeric owners and modes."""
    for line in tar("-tv", "--numeric-owner", "--quoting-style=c", "-f", layer).splitlines():
        m = re.search(rb'"((?:[^"\\]|\\.)*)"', line)
        if not m:
            raise RuntimeError("tar lists %r" % line)
        raw = m[1] if b"\\" not in m[1] else re.sub(rb"\\([0-7]{3}|.)", lambda e: bytes([int(e[1], 8)]) if len(e[1]) == 3 else ESC.get(e[1], e[1]), m[1])
        name = os.path.normpath(os.fsdecode(raw).lstrip("/"))
        if name == "." or name.startswith(".."):
            continue
        parent, base = os.path.split(name)
        if base == ".wh..wh..opq":
            d = inside(rootfs, parent)
            for e in os.listdir(d) if d and os.path.isdir(d) and not os.path.islink(d) else []:
                remove(os.path.join(d, e))
            continue
        name = os.path.join(parent, base[4:]) if base.startswith(".wh.") else name
        path = os.path.join(rootfs, name)
        if not os.path.lexists(path):
            continue
        realdir = os.path.isdir(path) and not os.path.islink(path)
        if (base.startswith(".wh.") or realdir != line.startswith(b"d")) and inside(rootfs, name):
            remove(path)
    tar("-x", "--numeric-owner", "--same-owner", "-p", "--exclude=.wh.*", "-C", rootfs, "-f", layer)


errors, done = [], os.path.join(root, "digest")
for base in sources:
    tmp = None
    try:
        manifest, digest = resolve(base)
        if os.path.isdir(os.path.join(root, "rootfs")) and os.path.exists(done) and open(done).read().strip() == digest:
            say("%s is already here (%s)" % (image, digest))
            sys.exit(0)
        say("%s for linux/%s is %s, from %s" % (image, arch, digest, base))
        tmp = tempfile.mkdtemp(dir=root)
        rootfs = os.path.join(tmp, "rootfs")
        os.mkdir(rootfs)
        blob(base, manifest["config"]["digest"], os.path.join(tmp, "config"))
        with open(os.path.join(tmp, "config")) as f:
            cf = json.load(f)
        if cf.get("architecture") != arch:
            raise RuntimeError("%s is an image for linux/%s, this machine is linux/%s" % (digest, cf.get("architecture"), arch))
        config = cf.get("config", {})
        for i, layer in enumerate(manifest["layers"]):
            say("layer %d/%d %s (%d MB)" % (i + 1, len(manifest["layers"]), layer["digest"], layer["size"] >> 20))
            blob(base, layer["digest"], os.path.join(tmp, "layer"))
            path = os.path.join(tmp, "layer")
            why = "SHIPYARD_PULL_NO_TAR=1" if os.environ.get("SHIPYARD_PULL_NO_TAR") == "1" else None if shutil.which("tar") else "no tar"
            try:
                if not why:
                    path = gunzip(path)
                    untar(path, rootfs)
            except Exception as e:  # anything: the layer is unpacked in Python, as it was before tar
                why = str(e) or type(e).__name__
            if why:
                say("layer %d/%d: unpacking it in Python (%s)" % (i + 1, len(manifest["layers"]), why))
                unpack(path, rootfs)
            os.unlink(path)
        with open(os.path.join(tmp, "image.env"), "w") as f:
            for kv in config.get("Env", []):
                k, v = kv.split("=", 1)
                f.write("%s='%s'\n" % (k, v.replace("'", "'\\''")))
        for name in ("rootfs", "image.env"):
            old = os.path.join(root, name)
            if os.path.isdir(old):
                shutil.rmtree(old)
            elif os.path.exists(old):
                os.unlink(old)
            os.rename(os.path.join(tmp, name), old)
        shutil.rmtree(tmp)
        with open(done, "w") as f:
            f.write(digest + "\n")
        say("%s unpacked in %s/rootfs" % (image, root))
        sys.exit(0)
    except (OSError, RuntimeError, ValueError, KeyError, tarfile.TarError) as e:
        errors.append("%s: %s" % (base, e))
        say("from %s: %s" % (base, e))
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
sys.exit("shipyard-builder: pull: no source gave %s: %s" % (image, "; ".join(errors)))
