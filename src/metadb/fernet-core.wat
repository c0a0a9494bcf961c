;; The per-byte parts of Fernet over many values at once: token layout, the XORs of CBC chaining around AES rounds
;; that node:crypto runs (as ECB over all values), and HMAC-SHA256 (FIPS 180-4, RFC 2104). JavaScript spends tens of
;; milliseconds warming up before such loops run fast; WebAssembly runs them at full speed from the first call.
;; It also computes the sync state's keyed field digests (SipHash-2-4 of each element of a canonical text, see
;; digests.ts). Built into fernet-core.wasm.ts by scripts/build-wasm.mjs (checked by test/metadb/fernet-core.test.ts).
;;
;; Memory (little-endian i32 words unless said otherwise):
;;   0    K[64]       SHA-256 round constants (written by the loader)
;;   256  W[64]       message schedule
;;   512  state[8]    working hash state
;;   544  inner[8]    HMAC inner state after the key block
;;   576  outer[8]    HMAC outer state after the key block
;;   608  H0[8]       SHA-256 initial state (written by the loader)
;;   640  pad[128]    scratch bytes for the last block(s) and the key block
;;   768  key[64]     the HMAC key, as the caller hands it over (KEY_AT in fernet-core.ts)
;;   832  sip[8][16]  SipHash keys, one per element of a canonical text (SIP_KEYS_AT in fernet-core.ts)
;;   960  b64[64]     the base64url alphabet, one byte per digit (written by the loader)
;;   1024 W4[64]      message schedule of four messages at once (v128: one 32-bit lane per message)
;;   2048 state4[8]   their working hash state (v128)
;;   2176 tail[4]     each lane's last block(s), padded (128 bytes each)
;;   2688 lane[4]     each lane's token start, whole blocks in the token, MAC address (16 bytes each)
;;   2752 bucket[9]   tokens waiting to be hashed four at a time, by block count: count, three indices (16 bytes each)
;;   4096 ...         free for the caller (see HEAP in fernet-core.ts)
(module
  (memory (export "memory") 1)

  (func $bswap (param $x i32) (result i32)
    (i32.or
      (i32.and (i32.rotl (local.get $x) (i32.const 8)) (i32.const 0x00ff00ff))
      (i32.and (i32.rotr (local.get $x) (i32.const 8)) (i32.const 0xff00ff00))))

  ;; W[0..15] = the 64 bytes at $p read as big-endian words.
  (func $loadBlock (param $p i32)
    (local $t i32)
    (loop $next
      (i32.store offset=256 (local.get $t) (call $bswap (i32.load (i32.add (local.get $p) (local.get $t)))))
      (local.set $t (i32.add (local.get $t) (i32.const 4)))
      (br_if $next (i32.lt_u (local.get $t) (i32.const 64)))))

  ;; One compression of the block in W[0..15] into the state at $s. $t runs over byte offsets (4 per word).
  (func $compress (param $s i32)
    (local $t i32) (local $x i32) (local $y i32) (local $t1 i32) (local $t2 i32)
    (local $a i32) (local $b i32) (local $c i32) (local $d i32) (local $e i32) (local $f i32) (local $g i32) (local $h i32)
    (local.set $t (i32.const 64))
    (loop $extend
      ;; W[t] = W[t-16] + s0(W[t-15]) + W[t-7] + s1(W[t-2])
      (local.set $x (i32.load offset=196 (local.get $t)))
      (local.set $y (i32.load offset=248 (local.get $t)))
      (i32.store offset=256 (local.get $t)
        (i32.add
          (i32.add
            (i32.load offset=192 (local.get $t))
            (i32.xor
              (i32.xor (i32.rotr (local.get $x) (i32.const 7)) (i32.rotr (local.get $x) (i32.const 18)))
              (i32.shr_u (local.get $x) (i32.const 3))))
          (i32.add
            (i32.load offset=228 (local.get $t))
            (i32.xor
              (i32.xor (i32.rotr (local.get $y) (i32.const 17)) (i32.rotr (local.get $y) (i32.const 19)))
              (i32.shr_u (local.get $y) (i32.const 10))))))
      (local.set $t (i32.add (local.get $t) (i32.const 4)))
      (br_if $extend (i32.lt_u (local.get $t) (i32.const 256))))
    (local.set $a (i32.load offset=0 (local.get $s)))
    (local.set $b (i32.load offset=4 (local.get $s)))
    (local.set $c (i32.load offset=8 (local.get $s)))
    (local.set $d (i32.load offset=12 (local.get $s)))
    (local.set $e (i32.load offset=16 (local.get $s)))
    (local.set $f (i32.load offset=20 (local.get $s)))
    (local.set $g (i32.load offset=24 (local.get $s)))
    (local.set $h (i32.load offset=28 (local.get $s)))
    (local.set $t (i32.const 0))
    (loop $round
      ;; t1 = h + S1(e) + ch(e, f, g) + K[t] + W[t]
      (local.set $t1
        (i32.add
          (i32.add
            (i32.add
              (local.get $h)
              (i32.xor
                (i32.xor (i32.rotr (local.get $e) (i32.const 6)) (i32.rotr (local.get $e) (i32.const 11)))
                (i32.rotr (local.get $e) (i32.const 25))))
            (i32.xor
              (i32.and (local.get $e) (local.get $f))
              (i32.and (i32.xor (local.get $e) (i32.const -1)) (local.get $g))))
          (i32.add (i32.load offset=0 (local.get $t)) (i32.load offset=256 (local.get $t)))))
      ;; t2 = S0(a) + maj(a, b, c)
      (local.set $t2
        (i32.add
          (i32.xor
            (i32.xor (i32.rotr (local.get $a) (i32.const 2)) (i32.rotr (local.get $a) (i32.const 13)))
            (i32.rotr (local.get $a) (i32.const 22)))
          (i32.xor
            (i32.xor (i32.and (local.get $a) (local.get $b)) (i32.and (local.get $a) (local.get $c)))
            (i32.and (local.get $b) (local.get $c)))))
      (local.set $h (local.get $g))
      (local.set $g (local.get $f))
      (local.set $f (local.get $e))
      (local.set $e (i32.add (local.get $d) (local.get $t1)))
      (local.set $d (local.get $c))
      (local.set $c (local.get $b))
      (local.set $b (local.get $a))
      (local.set $a (i32.add (local.get $t1) (local.get $t2)))
      (local.set $t (i32.add (local.get $t) (i32.const 4)))
      (br_if $round (i32.lt_u (local.get $t) (i32.const 256))))
    (i32.store offset=0 (local.get $s) (i32.add (i32.load offset=0 (local.get $s)) (local.get $a)))
    (i32.store offset=4 (local.get $s) (i32.add (i32.load offset=4 (local.get $s)) (local.get $b)))
    (i32.store offset=8 (local.get $s) (i32.add (i32.load offset=8 (local.get $s)) (local.get $c)))
    (i32.store offset=12 (local.get $s) (i32.add (i32.load offset=12 (local.get $s)) (local.get $d)))
    (i32.store offset=16 (local.get $s) (i32.add (i32.load offset=16 (local.get $s)) (local.get $e)))
    (i32.store offset=20 (local.get $s) (i32.add (i32.load offset=20 (local.get $s)) (local.get $f)))
    (i32.store offset=24 (local.get $s) (i32.add (i32.load offset=24 (local.get $s)) (local.get $g)))
    (i32.store offset=28 (local.get $s) (i32.add (i32.load offset=28 (local.get $s)) (local.get $h))))

  ;; Continues the hash at $s, which has absorbed $prefix bytes (a multiple of 64), with $len bytes at $p, and
  ;; finishes it (padding and bit length). Messages stay far below 512 MiB, so the length's high word is zero.
  (func $absorb (param $s i32) (param $prefix i32) (param $p i32) (param $len i32)
    (local $end i32) (local $rest i32) (local $bits i32)
    (local.set $end (i32.add (local.get $p) (local.get $len)))
    (block $done
      (loop $blocks
        (br_if $done (i32.gt_u (i32.add (local.get $p) (i32.const 64)) (local.get $end)))
        (call $loadBlock (local.get $p))
        (call $compress (local.get $s))
        (local.set $p (i32.add (local.get $p) (i32.const 64)))
        (br $blocks)))
    (local.set $rest (i32.sub (local.get $end) (local.get $p)))
    (local.set $bits (call $bswap (i32.shl (i32.add (local.get $prefix) (local.get $len)) (i32.const 3))))
    (memory.fill (i32.const 640) (i32.const 0) (i32.const 128))
    (memory.copy (i32.const 640) (local.get $p) (local.get $rest))
    (i32.store8 offset=640 (local.get $rest) (i32.const 0x80))
    (if (i32.gt_u (i32.add (local.get $rest) (i32.const 9)) (i32.const 64))
      (then
        (i32.store (i32.const 764) (local.get $bits))
        (call $loadBlock (i32.const 640))
        (call $compress (local.get $s))
        (call $loadBlock (i32.const 704))
        (call $compress (local.get $s)))
      (else
        (i32.store (i32.const 700) (local.get $bits))
        (call $loadBlock (i32.const 640))
        (call $compress (local.get $s)))))

  ;; The key block XOR $byte (0x36 or 0x5c) absorbed from H0 into the state at $s.
  (func $keyState (param $key i32) (param $len i32) (param $byte i32) (param $s i32)
    (local $i i32)
    (memory.fill (i32.const 640) (i32.const 0) (i32.const 64))
    (memory.copy (i32.const 640) (local.get $key) (local.get $len))
    (loop $xor
      (i32.store8 offset=640 (local.get $i) (i32.xor (i32.load8_u offset=640 (local.get $i)) (local.get $byte)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $xor (i32.lt_u (local.get $i) (i32.const 64))))
    (memory.copy (local.get $s) (i32.const 608) (i32.const 32))
    (call $loadBlock (i32.const 640))
    (call $compress (local.get $s)))

  ;; Sets the HMAC key ($len <= 64 bytes at $key; longer keys are hashed by the caller first).
  (func (export "hmacKey") (param $key i32) (param $len i32)
    (call $keyState (local.get $key) (local.get $len) (i32.const 0x36) (i32.const 544))
    (call $keyState (local.get $key) (local.get $len) (i32.const 0x5c) (i32.const 576)))

  ;; HMAC-SHA256 under the current key of the $len bytes at $p, written (32 bytes) at $out.
  (func $mac (export "mac") (param $p i32) (param $len i32) (param $out i32)
    (local $i i32)
    (memory.copy (i32.const 512) (i32.const 544) (i32.const 32))
    (call $absorb (i32.const 512) (i32.const 64) (local.get $p) (local.get $len))
    ;; The outer hash is one block: the inner digest, the 0x80 marker, zeros and the length (64 + 32) * 8 bits.
    (memory.copy (i32.const 256) (i32.const 512) (i32.const 32))
    (i32.store (i32.const 288) (i32.const 0x80000000))
    (memory.fill (i32.const 292) (i32.const 0) (i32.const 24))
    (i32.store (i32.const 316) (i32.const 768))
    (memory.copy (i32.const 512) (i32.const 576) (i32.const 32))
    (call $compress (i32.const 512))
    (loop $store
      (i32.store (i32.add (local.get $out) (local.get $i)) (call $bswap (i32.load offset=512 (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br_if $store (i32.lt_u (local.get $i) (i32.const 32)))))

  ;; $compress with four messages at once, one per 32-bit lane: the state at $s and the block at W4 are eight and
  ;; sixteen vectors, word w of lane l being word w of message l. ch and maj are bit selections.
  (func $compress4 (param $s i32)
    (local $p i32) (local $x v128) (local $y v128) (local $t1 v128) (local $t2 v128)
    (local $a v128) (local $b v128) (local $c v128) (local $d v128) (local $e v128) (local $f v128) (local $g v128) (local $h v128)
    ;; $p is the address of W[t - 16]: W[t] = W[t-16] + s0(W[t-15]) + W[t-7] + s1(W[t-2]).
    (local.set $p (i32.const 1024))
    (loop $extend
      (local.set $x (v128.load offset=16 (local.get $p)))
      (local.set $y (v128.load offset=224 (local.get $p)))
      (v128.store offset=256 (local.get $p)
        (i32x4.add
          (i32x4.add (v128.load (local.get $p)) (v128.xor (v128.xor (v128.or (i32x4.shr_u (local.get $x) (i32.const 7)) (i32x4.shl (local.get $x) (i32.const 25))) (v128.or (i32x4.shr_u (local.get $x) (i32.const 18)) (i32x4.shl (local.get $x) (i32.const 14)))) (i32x4.shr_u (local.get $x) (i32.const 3))))
          (i32x4.add (v128.load offset=144 (local.get $p)) (v128.xor (v128.xor (v128.or (i32x4.shr_u (local.get $y) (i32.const 17)) (i32x4.shl (local.get $y) (i32.const 15))) (v128.or (i32x4.shr_u (local.get $y) (i32.const 19)) (i32x4.shl (local.get $y) (i32.const 13)))) (i32x4.shr_u (local.get $y) (i32.const 10))))))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (br_if $extend (i32.lt_u (local.get $p) (i32.const 1792))))
    (local.set $a (v128.load offset=0 (local.get $s)))
    (local.set $b (v128.load offset=16 (local.get $s)))
    (local.set $c (v128.load offset=32 (local.get $s)))
    (local.set $d (v128.load offset=48 (local.get $s)))
    (local.set $e (v128.load offset=64 (local.get $s)))
    (local.set $f (v128.load offset=80 (local.get $s)))
    (local.set $g (v128.load offset=96 (local.get $s)))
    (local.set $h (v128.load offset=112 (local.get $s)))
    ;; $p runs over K (4 bytes a round) and W4 is at 1024 + 4 $p.
    (local.set $p (i32.const 0))
    (loop $round
      ;; t1 = h + S1(e) + ch(e, f, g) + K[t] + W[t]
      (local.set $t1
        (i32x4.add
          (i32x4.add (i32x4.add (local.get $h) (v128.xor (v128.xor (v128.or (i32x4.shr_u (local.get $e) (i32.const 6)) (i32x4.shl (local.get $e) (i32.const 26))) (v128.or (i32x4.shr_u (local.get $e) (i32.const 11)) (i32x4.shl (local.get $e) (i32.const 21)))) (v128.or (i32x4.shr_u (local.get $e) (i32.const 25)) (i32x4.shl (local.get $e) (i32.const 7))))) (v128.bitselect (local.get $f) (local.get $g) (local.get $e)))
          (i32x4.add (i32x4.splat (i32.load (local.get $p))) (v128.load offset=1024 (i32.shl (local.get $p) (i32.const 2))))))
      ;; t2 = S0(a) + maj(a, b, c)
      (local.set $t2 (i32x4.add (v128.xor (v128.xor (v128.or (i32x4.shr_u (local.get $a) (i32.const 2)) (i32x4.shl (local.get $a) (i32.const 30))) (v128.or (i32x4.shr_u (local.get $a) (i32.const 13)) (i32x4.shl (local.get $a) (i32.const 19)))) (v128.or (i32x4.shr_u (local.get $a) (i32.const 22)) (i32x4.shl (local.get $a) (i32.const 10)))) (v128.bitselect (local.get $b) (local.get $a) (v128.xor (local.get $a) (local.get $c)))))
      (local.set $h (local.get $g))
      (local.set $g (local.get $f))
      (local.set $f (local.get $e))
      (local.set $e (i32x4.add (local.get $d) (local.get $t1)))
      (local.set $d (local.get $c))
      (local.set $c (local.get $b))
      (local.set $b (local.get $a))
      (local.set $a (i32x4.add (local.get $t1) (local.get $t2)))
      (local.set $p (i32.add (local.get $p) (i32.const 4)))
      (br_if $round (i32.lt_u (local.get $p) (i32.const 256))))
    (v128.store offset=0 (local.get $s) (i32x4.add (v128.load offset=0 (local.get $s)) (local.get $a)))
    (v128.store offset=16 (local.get $s) (i32x4.add (v128.load offset=16 (local.get $s)) (local.get $b)))
    (v128.store offset=32 (local.get $s) (i32x4.add (v128.load offset=32 (local.get $s)) (local.get $c)))
    (v128.store offset=48 (local.get $s) (i32x4.add (v128.load offset=48 (local.get $s)) (local.get $d)))
    (v128.store offset=64 (local.get $s) (i32x4.add (v128.load offset=64 (local.get $s)) (local.get $e)))
    (v128.store offset=80 (local.get $s) (i32x4.add (v128.load offset=80 (local.get $s)) (local.get $f)))
    (v128.store offset=96 (local.get $s) (i32x4.add (v128.load offset=96 (local.get $s)) (local.get $g)))
    (v128.store offset=112 (local.get $s) (i32x4.add (v128.load offset=112 (local.get $s)) (local.get $h))))


  ;; Word t of block $b of lane $l's inner message into lane $l of W4[t] (big-endian words): the block is in the token
  ;; while whole blocks remain there, else in the lane's tail (its last bytes, padded; see $mac4).
  (func $loadLane (param $l i32) (param $b i32)
    (local $p i32) (local $lane i32) (local $t i32)
    (local.set $lane (i32.add (i32.const 2688) (i32.shl (local.get $l) (i32.const 4))))
    (local.set $p
      (if (result i32) (i32.lt_u (local.get $b) (i32.load offset=4 (local.get $lane)))
        (then (i32.add (i32.load (local.get $lane)) (i32.shl (local.get $b) (i32.const 6))))
        (else
          (i32.add
            (i32.add (i32.const 2176) (i32.shl (local.get $l) (i32.const 7)))
            (i32.shl (i32.sub (local.get $b) (i32.load offset=4 (local.get $lane))) (i32.const 6))))))
    (local.set $lane (i32.add (i32.const 1024) (i32.shl (local.get $l) (i32.const 2))))
    (loop $word
      (i32.store (i32.add (local.get $lane) (i32.shl (local.get $t) (i32.const 2))) (call $bswap (i32.load (i32.add (local.get $p) (local.get $t)))))
      (local.set $t (i32.add (local.get $t) (i32.const 4)))
      (br_if $word (i32.lt_u (local.get $t) (i32.const 64)))))

  ;; $mac for four tokens at once, whose inner messages take $blocks blocks each: the three indices at $bucket + 4 and
  ;; $last. Lane l's parameters sit at 2688 + 16 l (token start, whole blocks, MAC address), its tail at 2176 + 128 l.
  (func $mac4 (param $starts i32) (param $ends i32) (param $blocks i32) (param $bucket i32) (param $last i32)
    (local $l i32) (local $i i32) (local $start i32) (local $body i32) (local $len i32) (local $tail i32) (local $rest i32)
    (local $b i32) (local $w i32)
    (loop $lanes
      (local.set $i
        (if (result i32) (i32.lt_u (local.get $l) (i32.const 3))
          (then (i32.load offset=4 (i32.add (local.get $bucket) (i32.shl (local.get $l) (i32.const 2)))))
          (else (local.get $last))))
      (local.set $start (i32.load (i32.add (local.get $starts) (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $body (i32.sub (i32.load (i32.add (local.get $ends) (i32.shl (local.get $i) (i32.const 2)))) (i32.const 32)))
      (local.set $len (i32.sub (local.get $body) (local.get $start)))
      (local.set $rest (i32.and (local.get $len) (i32.const 63)))
      (i32.store (i32.add (i32.const 2688) (i32.shl (local.get $l) (i32.const 4))) (local.get $start))
      (i32.store offset=4 (i32.add (i32.const 2688) (i32.shl (local.get $l) (i32.const 4))) (i32.shr_u (local.get $len) (i32.const 6)))
      (i32.store offset=8 (i32.add (i32.const 2688) (i32.shl (local.get $l) (i32.const 4))) (local.get $body))
      ;; The tail: the last bytes, the 0x80 marker, zeros and the bit length of key block + message.
      (local.set $tail (i32.add (i32.const 2176) (i32.shl (local.get $l) (i32.const 7))))
      (memory.fill (local.get $tail) (i32.const 0) (i32.const 128))
      (memory.copy (local.get $tail) (i32.sub (local.get $body) (local.get $rest)) (local.get $rest))
      (i32.store8 (i32.add (local.get $tail) (local.get $rest)) (i32.const 0x80))
      (i32.store
        (i32.add (local.get $tail) (select (i32.const 124) (i32.const 60) (i32.gt_u (i32.add (local.get $rest) (i32.const 9)) (i32.const 64))))
        (call $bswap (i32.shl (i32.add (local.get $len) (i32.const 64)) (i32.const 3))))
      (local.set $l (i32.add (local.get $l) (i32.const 1)))
      (br_if $lanes (i32.lt_u (local.get $l) (i32.const 4))))
    ;; Inner hashes, from the key's inner state.
    (loop $init
      (v128.store offset=2048 (i32.shl (local.get $w) (i32.const 4)) (i32x4.splat (i32.load offset=544 (i32.shl (local.get $w) (i32.const 2)))))
      (local.set $w (i32.add (local.get $w) (i32.const 1)))
      (br_if $init (i32.lt_u (local.get $w) (i32.const 8))))
    (loop $block
      (call $loadLane (i32.const 0) (local.get $b))
      (call $loadLane (i32.const 1) (local.get $b))
      (call $loadLane (i32.const 2) (local.get $b))
      (call $loadLane (i32.const 3) (local.get $b))
      (call $compress4 (i32.const 2048))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br_if $block (i32.lt_u (local.get $b) (local.get $blocks))))
    ;; Outer hashes: one block each, the inner digest, the 0x80 marker, zeros and the length (64 + 32) * 8 bits.
    (memory.copy (i32.const 1024) (i32.const 2048) (i32.const 128))
    (v128.store (i32.const 1152) (i32x4.splat (i32.const 0x80000000)))
    (memory.fill (i32.const 1168) (i32.const 0) (i32.const 96))
    (v128.store (i32.const 1264) (i32x4.splat (i32.const 768)))
    (local.set $w (i32.const 0))
    (loop $init
      (v128.store offset=2048 (i32.shl (local.get $w) (i32.const 4)) (i32x4.splat (i32.load offset=576 (i32.shl (local.get $w) (i32.const 2)))))
      (local.set $w (i32.add (local.get $w) (i32.const 1)))
      (br_if $init (i32.lt_u (local.get $w) (i32.const 8))))
    (call $compress4 (i32.const 2048))
    ;; Each lane's digest, big-endian, over the token's last 32 bytes.
    (local.set $l (i32.const 0))
    (loop $lanes
      (local.set $body (i32.load offset=8 (i32.add (i32.const 2688) (i32.shl (local.get $l) (i32.const 4)))))
      (local.set $w (i32.const 0))
      (loop $word
        (i32.store (i32.add (local.get $body) (i32.shl (local.get $w) (i32.const 2)))
          (call $bswap (i32.load offset=2048 (i32.add (i32.shl (local.get $w) (i32.const 4)) (i32.shl (local.get $l) (i32.const 2))))))
        (local.set $w (i32.add (local.get $w) (i32.const 1)))
        (br_if $word (i32.lt_u (local.get $w) (i32.const 8))))
      (local.set $l (i32.add (local.get $l) (i32.const 1)))
      (br_if $lanes (i32.lt_u (local.get $l) (i32.const 4)))))

  ;; Token i spans [starts[i], ends[i]); its last 32 bytes get the HMAC of the bytes before them. Tokens whose inner
  ;; messages take the same number of blocks (up to 8) wait in a bucket (2752 + 16 blocks: count, three indices) until
  ;; four can be hashed together; the rest, and what is left in the buckets, one at a time.
  (func (export "macMany") (param $n i32) (param $starts i32) (param $ends i32)
    (local $i i32) (local $start i32) (local $body i32) (local $blocks i32) (local $bucket i32) (local $count i32) (local $j i32)
    (memory.fill (i32.const 2752) (i32.const 0) (i32.const 144))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $start (i32.load (i32.add (local.get $starts) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $body (i32.sub (i32.load (i32.add (local.get $ends) (i32.shl (local.get $i) (i32.const 2)))) (i32.const 32)))
        (local.set $blocks (i32.shr_u (i32.add (i32.sub (local.get $body) (local.get $start)) (i32.const 72)) (i32.const 6)))
        (if (i32.gt_u (local.get $blocks) (i32.const 8))
          (then (call $mac (local.get $start) (i32.sub (local.get $body) (local.get $start)) (local.get $body)))
          (else
            (local.set $bucket (i32.add (i32.const 2752) (i32.shl (local.get $blocks) (i32.const 4))))
            (local.set $count (i32.load (local.get $bucket)))
            (if (i32.eq (local.get $count) (i32.const 3))
              (then
                (call $mac4 (local.get $starts) (local.get $ends) (local.get $blocks) (local.get $bucket) (local.get $i))
                (i32.store (local.get $bucket) (i32.const 0)))
              (else
                (i32.store offset=4 (i32.add (local.get $bucket) (i32.shl (local.get $count) (i32.const 2))) (local.get $i))
                (i32.store (local.get $bucket) (i32.add (local.get $count) (i32.const 1)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    ;; What is left in the buckets.
    (local.set $bucket (i32.const 2752))
    (loop $buckets
      (local.set $j (i32.const 0))
      (block $empty
        (loop $left
          (br_if $empty (i32.ge_u (local.get $j) (i32.load (local.get $bucket))))
          (local.set $i (i32.load offset=4 (i32.add (local.get $bucket) (i32.shl (local.get $j) (i32.const 2)))))
          (local.set $start (i32.load (i32.add (local.get $starts) (i32.shl (local.get $i) (i32.const 2)))))
          (local.set $body (i32.sub (i32.load (i32.add (local.get $ends) (i32.shl (local.get $i) (i32.const 2)))) (i32.const 32)))
          (call $mac (local.get $start) (i32.sub (local.get $body) (local.get $start)) (local.get $body))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $left)))
      (local.set $bucket (i32.add (local.get $bucket) (i32.const 16)))
      (br_if $buckets (i32.lt_u (local.get $bucket) (i32.const 2896)))))

  ;; For each token: the 9-byte header at $header, IV i (16 bytes at $ivs + 16 i), and the PKCS7 padding after the
  ;; plaintext of lengths[i] bytes that the caller wrote at starts[i] + 25.
  (func (export "layout") (param $n i32) (param $starts i32) (param $lengths i32) (param $ivs i32) (param $header i32)
    (local $i i32) (local $at i32) (local $len i32) (local $pad i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $at (i32.load (i32.add (local.get $starts) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $len (i32.load (i32.add (local.get $lengths) (i32.shl (local.get $i) (i32.const 2)))))
        (memory.copy (local.get $at) (local.get $header) (i32.const 9))
        (memory.copy (i32.add (local.get $at) (i32.const 9)) (i32.add (local.get $ivs) (i32.shl (local.get $i) (i32.const 4))) (i32.const 16))
        (local.set $pad (i32.sub (i32.const 16) (i32.and (local.get $len) (i32.const 15))))
        (memory.fill (i32.add (i32.add (local.get $at) (i32.const 25)) (local.get $len)) (local.get $pad) (local.get $pad))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))

;; The plaintexts, laid end to end from $src (lengths[i] bytes each), copied to their places in the tokens
  ;; (starts[i] + 25): one call instead of a write per value from JavaScript.
  (func (export "place") (param $n i32) (param $starts i32) (param $lengths i32) (param $src i32)
    (local $i i32) (local $len i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $len (i32.load (i32.add (local.get $lengths) (i32.shl (local.get $i) (i32.const 2)))))
        (memory.copy
          (i32.add (i32.load (i32.add (local.get $starts) (i32.shl (local.get $i) (i32.const 2)))) (i32.const 25))
          (local.get $src)
          (local.get $len))
        (local.set $src (i32.add (local.get $src) (local.get $len)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))

    ;; CBC round $round (the block at starts[i] + 25 + 16 round of every token that has one): gathers each block
  ;; XOR the block before it (ciphertext already, or the IV) into $stage, for one AES-ECB pass; returns how many.
  (func (export "cbcGather") (param $round i32) (param $n i32) (param $starts i32) (param $lengths i32) (param $stage i32) (result i32)
    (local $i i32) (local $count i32) (local $block i32) (local $out i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (if (i32.ge_u (i32.load (i32.add (local.get $lengths) (i32.shl (local.get $i) (i32.const 2)))) (i32.shl (local.get $round) (i32.const 4)))
          (then
            (local.set $block
              (i32.add (i32.load (i32.add (local.get $starts) (i32.shl (local.get $i) (i32.const 2)))) (i32.add (i32.const 25) (i32.shl (local.get $round) (i32.const 4)))))
            (local.set $out (i32.add (local.get $stage) (i32.shl (local.get $count) (i32.const 4))))
            (i64.store (local.get $out) (i64.xor (i64.load (local.get $block)) (i64.load offset=0 (i32.sub (local.get $block) (i32.const 16)))))
            (i64.store offset=8 (local.get $out) (i64.xor (i64.load offset=8 (local.get $block)) (i64.load (i32.sub (local.get $block) (i32.const 8)))))
            (local.set $count (i32.add (local.get $count) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $count))

  ;; Puts the encrypted blocks of round $round back where cbcGather took them from.
  (func (export "cbcScatter") (param $round i32) (param $n i32) (param $starts i32) (param $lengths i32) (param $stage i32)
    (local $i i32) (local $count i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (if (i32.ge_u (i32.load (i32.add (local.get $lengths) (i32.shl (local.get $i) (i32.const 2)))) (i32.shl (local.get $round) (i32.const 4)))
          (then
            (memory.copy
              (i32.add (i32.load (i32.add (local.get $starts) (i32.shl (local.get $i) (i32.const 2)))) (i32.add (i32.const 25) (i32.shl (local.get $round) (i32.const 4))))
              (i32.add (local.get $stage) (i32.shl (local.get $count) (i32.const 4)))
              (i32.const 16))
            (local.set $count (i32.add (local.get $count) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))

  ;; CBC decryption's XOR: the $len bytes at $plain (AES-ECB-decrypted blocks) XOR the $len bytes at $prev (the IV
  ;; followed by all but the last ciphertext block), in place.
  (func (export "xorInto") (param $plain i32) (param $prev i32) (param $len i32)
    (local $i i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (i64.store (i32.add (local.get $plain) (local.get $i))
          (i64.xor (i64.load (i32.add (local.get $plain) (local.get $i))) (i64.load (i32.add (local.get $prev) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $next))))

  ;; The base64url text (RFC 4648 §5, '=' padded: a Fernet token's text form) of each token [starts[i], ends[i]),
  ;; one after the other from $dst; returns where the last one ends. Each takes 4 ceil(length / 3) bytes.
  (func (export "base64Many") (param $n i32) (param $starts i32) (param $ends i32) (param $dst i32) (result i32)
    (local $i i32) (local $p i32) (local $end i32) (local $full i32) (local $v i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $p (i32.load (i32.add (local.get $starts) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $end (i32.load (i32.add (local.get $ends) (i32.shl (local.get $i) (i32.const 2)))))
        ;; Whole 3-byte groups up to $full, four digits each.
        (local.set $full (i32.sub (local.get $end) (i32.rem_u (i32.sub (local.get $end) (local.get $p)) (i32.const 3))))
        (block $tail
          (loop $group
            (br_if $tail (i32.ge_u (local.get $p) (local.get $full)))
            (local.set $v
              (i32.or
                (i32.or (i32.shl (i32.load8_u (local.get $p)) (i32.const 16)) (i32.shl (i32.load8_u offset=1 (local.get $p)) (i32.const 8)))
                (i32.load8_u offset=2 (local.get $p))))
            (i32.store8 (local.get $dst) (i32.load8_u offset=960 (i32.shr_u (local.get $v) (i32.const 18))))
            (i32.store8 offset=1 (local.get $dst) (i32.load8_u offset=960 (i32.and (i32.shr_u (local.get $v) (i32.const 12)) (i32.const 63))))
            (i32.store8 offset=2 (local.get $dst) (i32.load8_u offset=960 (i32.and (i32.shr_u (local.get $v) (i32.const 6)) (i32.const 63))))
            (i32.store8 offset=3 (local.get $dst) (i32.load8_u offset=960 (i32.and (local.get $v) (i32.const 63))))
            (local.set $p (i32.add (local.get $p) (i32.const 3)))
            (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
            (br $group)))
        ;; One or two bytes left: two or three digits, then '=' (61) padding to four.
        (if (i32.ne (local.get $p) (local.get $end))
          (then
            (local.set $v (i32.shl (i32.load8_u (local.get $p)) (i32.const 16)))
            (if (i32.eq (i32.sub (local.get $end) (local.get $p)) (i32.const 2))
              (then (local.set $v (i32.or (local.get $v) (i32.shl (i32.load8_u offset=1 (local.get $p)) (i32.const 8))))))
            (i32.store8 (local.get $dst) (i32.load8_u offset=960 (i32.shr_u (local.get $v) (i32.const 18))))
            (i32.store8 offset=1 (local.get $dst) (i32.load8_u offset=960 (i32.and (i32.shr_u (local.get $v) (i32.const 12)) (i32.const 63))))
            (i32.store8 offset=2 (local.get $dst)
              (select
                (i32.load8_u offset=960 (i32.and (i32.shr_u (local.get $v) (i32.const 6)) (i32.const 63)))
                (i32.const 61)
                (i32.eq (i32.sub (local.get $end) (local.get $p)) (i32.const 2))))
            (i32.store8 offset=3 (local.get $dst) (i32.const 61))
            (local.set $dst (i32.add (local.get $dst) (i32.const 4)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $dst))

  ;; Where each element of a JSON array of arrays (or of objects) starts (its $open byte, "[" or "{") and ends (past
  ;; its $close byte, "]" or "}"), written to starts and ends, for the text [$p, $end) as JSON.stringify writes an array
  ;; of canonical texts' arrays or of flat objects (no blanks; only strings and scalars inside); returns how many, or -1
  ;; when the text is not such an array.
  (func (export "splitRows") (param $p i32) (param $end i32) (param $starts i32) (param $ends i32) (param $open i32) (param $close i32) (result i32)
    (local $n i32) (local $c i32)
    (if (i32.or
          (i32.lt_s (i32.sub (local.get $end) (local.get $p)) (i32.const 2))
          (i32.or (i32.ne (i32.load8_u (local.get $p)) (i32.const 0x5b)) (i32.ne (i32.load8_u (i32.sub (local.get $end) (i32.const 1))) (i32.const 0x5d))))
      (then (return (i32.const -1))))
    (local.set $p (i32.add (local.get $p) (i32.const 1)))
    ;; $end: the closing bracket of the whole.
    (local.set $end (i32.sub (local.get $end) (i32.const 1)))
    (if (i32.eq (local.get $p) (local.get $end)) (then (return (i32.const 0))))
    (loop $row
      (if (i32.ne (i32.load8_u (local.get $p)) (local.get $open)) (then (return (i32.const -1))))
      (i32.store (i32.add (local.get $starts) (i32.shl (local.get $n) (i32.const 2))) (local.get $p))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (block $closed
        (loop $char
          (if (i32.ge_u (local.get $p) (local.get $end)) (then (return (i32.const -1))))
          (local.set $c (i32.load8_u (local.get $p)))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (br_if $closed (i32.eq (local.get $c) (local.get $close)))
          (if (i32.eq (local.get $c) (i32.const 0x22))
            (then
              ;; A string: up to its closing quote, stepping over each backslash escape's next byte.
              (block $string
                (loop $inside
                  (if (i32.ge_u (local.get $p) (local.get $end)) (then (return (i32.const -1))))
                  (local.set $c (i32.load8_u (local.get $p)))
                  (local.set $p (i32.add (local.get $p) (i32.const 1)))
                  (br_if $string (i32.eq (local.get $c) (i32.const 0x22)))
                  (if (i32.eq (local.get $c) (i32.const 0x5c)) (then (local.set $p (i32.add (local.get $p) (i32.const 1)))))
                  (br $inside)))))
          (br $char)))
      (i32.store (i32.add (local.get $ends) (i32.shl (local.get $n) (i32.const 2))) (local.get $p))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (if (i32.eq (local.get $p) (local.get $end)) (then (return (local.get $n))))
      (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 0x2c)) (then (return (i32.const -1))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $row))
    (unreachable))

  ;; Rows in COPY's text format from cell codes (i32 each, $n of them, rows of $width cells): a code >= 0 takes that many
  ;; bytes in turn from $text, written with backslash, newline, carriage return and tab escaped; -1 is NULL (\N); -2
  ;; takes the next token's text in turn from $tokens (token k ends at $tokens + ends[k]); -3 is t and -4 is f. Cells
  ;; are separated by tabs and each row ends with a newline. Returns where the text written from $out ends.
  (func (export "copyRows") (param $n i32) (param $width i32) (param $cells i32) (param $text i32) (param $tokens i32) (param $ends i32) (param $out i32) (result i32)
    (local $i i32) (local $col i32) (local $code i32) (local $end i32) (local $c i32) (local $from i32) (local $to i32)
    (local.set $from (local.get $tokens))
    (block $done
      (loop $cell
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $code (i32.load (i32.add (local.get $cells) (i32.shl (local.get $i) (i32.const 2)))))
        (if (i32.ge_s (local.get $code) (i32.const 0))
          (then
            (local.set $end (i32.add (local.get $text) (local.get $code)))
            (block $copied
              (loop $byte
                (br_if $copied (i32.ge_u (local.get $text) (local.get $end)))
                (local.set $c (i32.load8_u (local.get $text)))
                (local.set $text (i32.add (local.get $text) (i32.const 1)))
                ;; Only \t (9), \n (10), \r (13) and \ (92) are escaped, as t, n, r and \ after a backslash.
                (if (i32.and (i32.gt_u (local.get $c) (i32.const 13)) (i32.ne (local.get $c) (i32.const 92)))
                  (then
                    (i32.store8 (local.get $out) (local.get $c))
                    (local.set $out (i32.add (local.get $out) (i32.const 1))))
                  (else
                    (if (i32.or
                          (i32.or (i32.eq (local.get $c) (i32.const 9)) (i32.eq (local.get $c) (i32.const 10)))
                          (i32.or (i32.eq (local.get $c) (i32.const 13)) (i32.eq (local.get $c) (i32.const 92))))
                      (then
                        (i32.store8 (local.get $out) (i32.const 92))
                        (i32.store8 offset=1 (local.get $out)
                          (select (i32.const 116)
                            (select (i32.const 110) (select (i32.const 114) (i32.const 92) (i32.eq (local.get $c) (i32.const 13))) (i32.eq (local.get $c) (i32.const 10)))
                            (i32.eq (local.get $c) (i32.const 9))))
                        (local.set $out (i32.add (local.get $out) (i32.const 2))))
                      (else
                        (i32.store8 (local.get $out) (local.get $c))
                        (local.set $out (i32.add (local.get $out) (i32.const 1)))))))
                (br $byte))))
          (else
            (if (i32.eq (local.get $code) (i32.const -2))
              (then
                (local.set $to (i32.add (local.get $tokens) (i32.load (local.get $ends))))
                (local.set $ends (i32.add (local.get $ends) (i32.const 4)))
                (memory.copy (local.get $out) (local.get $from) (i32.sub (local.get $to) (local.get $from)))
                (local.set $out (i32.add (local.get $out) (i32.sub (local.get $to) (local.get $from))))
                (local.set $from (local.get $to)))
              (else
                (if (i32.eq (local.get $code) (i32.const -1))
                  (then
                    (i32.store16 (local.get $out) (i32.const 0x4e5c)) ;; "\N"
                    (local.set $out (i32.add (local.get $out) (i32.const 2))))
                  (else
                    (i32.store8 (local.get $out) (select (i32.const 116) (i32.const 102) (i32.eq (local.get $code) (i32.const -3))))
                    (local.set $out (i32.add (local.get $out) (i32.const 1)))))))))
        (local.set $col (i32.add (local.get $col) (i32.const 1)))
        (if (i32.eq (local.get $col) (local.get $width))
          (then
            (i32.store8 (local.get $out) (i32.const 10))
            (local.set $col (i32.const 0)))
          (else (i32.store8 (local.get $out) (i32.const 9))))
        (local.set $out (i32.add (local.get $out) (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $cell)))
    (local.get $out))

  ;; SipHash-2-4 (Aumasson and Bernstein, 2012) of the $len bytes at $p under the 16-byte key at $key: one loop of
  ;; SipRounds, two per 8-byte block (the last block holds the remaining bytes and the length's low byte), then four.
  (func $sip (param $p i32) (param $len i32) (param $key i32) (result i64)
    (local $v0 i64) (local $v1 i64) (local $v2 i64) (local $v3 i64) (local $m i64)
    (local $r i32) (local $compressing i32) (local $word i32) (local $last i32) (local $tail i32)
    (local.set $v0 (i64.xor (i64.load (local.get $key)) (i64.const 0x736f6d6570736575)))
    (local.set $v1 (i64.xor (i64.load offset=8 (local.get $key)) (i64.const 0x646f72616e646f6d)))
    (local.set $v2 (i64.xor (i64.load (local.get $key)) (i64.const 0x6c7967656e657261)))
    (local.set $v3 (i64.xor (i64.load offset=8 (local.get $key)) (i64.const 0x7465646279746573)))
    ;; Blocks: the whole 8-byte words, then the last one; 2 rounds each are the compression rounds.
    (local.set $last (i32.shr_u (local.get $len) (i32.const 3)))
    (local.set $compressing (i32.shl (i32.add (local.get $last) (i32.const 1)) (i32.const 1)))
    (loop $round
      ;; Before the first round of a block: m = the block, v3 ^= m.
      (if (i32.and (i32.eqz (i32.and (local.get $r) (i32.const 1))) (i32.lt_u (local.get $r) (local.get $compressing)))
        (then
          (local.set $word (i32.shr_u (local.get $r) (i32.const 1)))
          (if (i32.lt_u (local.get $word) (local.get $last))
            (then (local.set $m (i64.load (i32.add (local.get $p) (i32.shl (local.get $word) (i32.const 3))))))
            (else
              (local.set $m (i64.shl (i64.extend_i32_u (local.get $len)) (i64.const 56)))
              (local.set $tail (i32.and (local.get $len) (i32.const 7)))
              (block $bytes
                (loop $byte
                  (br_if $bytes (i32.eqz (local.get $tail)))
                  (local.set $tail (i32.sub (local.get $tail) (i32.const 1)))
                  (local.set $m
                    (i64.or (local.get $m)
                      (i64.shl
                        (i64.load8_u (i32.add (i32.add (local.get $p) (i32.shl (local.get $last) (i32.const 3))) (local.get $tail)))
                        (i64.extend_i32_u (i32.shl (local.get $tail) (i32.const 3))))))
                  (br $byte)))))
          (local.set $v3 (i64.xor (local.get $v3) (local.get $m)))))
      ;; SipRound.
      (local.set $v0 (i64.add (local.get $v0) (local.get $v1)))
      (local.set $v1 (i64.xor (i64.rotl (local.get $v1) (i64.const 13)) (local.get $v0)))
      (local.set $v0 (i64.rotl (local.get $v0) (i64.const 32)))
      (local.set $v2 (i64.add (local.get $v2) (local.get $v3)))
      (local.set $v3 (i64.xor (i64.rotl (local.get $v3) (i64.const 16)) (local.get $v2)))
      (local.set $v0 (i64.add (local.get $v0) (local.get $v3)))
      (local.set $v3 (i64.xor (i64.rotl (local.get $v3) (i64.const 21)) (local.get $v0)))
      (local.set $v2 (i64.add (local.get $v2) (local.get $v1)))
      (local.set $v1 (i64.xor (i64.rotl (local.get $v1) (i64.const 17)) (local.get $v2)))
      (local.set $v2 (i64.rotl (local.get $v2) (i64.const 32)))
      ;; After the second round of a block: v0 ^= m; after the last block's, the finalization's v2 ^= 0xff.
      (if (i32.and (i32.and (local.get $r) (i32.const 1)) (i32.lt_u (local.get $r) (local.get $compressing)))
        (then
          (local.set $v0 (i64.xor (local.get $v0) (local.get $m)))
          (if (i32.eq (i32.add (local.get $r) (i32.const 1)) (local.get $compressing))
            (then (local.set $v2 (i64.xor (local.get $v2) (i64.const 0xff)))))))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br_if $round (i32.lt_u (local.get $r) (i32.add (local.get $compressing) (i32.const 4)))))
    (i64.xor (i64.xor (local.get $v0) (local.get $v1)) (i64.xor (local.get $v2) (local.get $v3))))

  ;; SipHash-2-4 of the $len bytes at $p under the key at $key, written (8 bytes, little-endian) at $out.
  (func (export "sip") (param $p i32) (param $len i32) (param $key i32) (param $out i32)
    (i64.store (local.get $out) (call $sip (local.get $p) (local.get $len) (local.get $key))))

  ;; Cells in rows of $width (at most 8): $count lengths (i32) at $lens, -1 for NULL, and the bytes of the other cells
  ;; one after the other from $text. Cell i gets the first 6 bytes of the SipHash-2-4, under key (i mod $width)
  ;; (sip[j]), of its bytes, or for NULL of the one byte 0xff at $null (a byte no UTF-8 text holds), written one
  ;; after the other from $out; returns where the last one ends, or -1 when $width is not 1 to 8.
  (func (export "sipCells") (param $count i32) (param $width i32) (param $lens i32) (param $text i32) (param $null i32) (param $out i32) (result i32)
    (local $i i32) (local $j i32) (local $len i32) (local $h i64)
    (if (i32.or (i32.lt_s (local.get $width) (i32.const 1)) (i32.gt_s (local.get $width) (i32.const 8))) (then (return (i32.const -1))))
    (block $done
      (loop $cell
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        (local.set $len (i32.load (i32.add (local.get $lens) (i32.shl (local.get $i) (i32.const 2)))))
        (if (i32.lt_s (local.get $len) (i32.const 0))
          (then (local.set $h (call $sip (local.get $null) (i32.const 1) (i32.add (i32.const 832) (i32.shl (local.get $j) (i32.const 4))))))
          (else
            (local.set $h (call $sip (local.get $text) (local.get $len) (i32.add (i32.const 832) (i32.shl (local.get $j) (i32.const 4)))))
            (local.set $text (i32.add (local.get $text) (local.get $len)))))
        (i32.store (local.get $out) (i32.wrap_i64 (local.get $h)))
        (i32.store16 offset=4 (local.get $out) (i32.wrap_i64 (i64.shr_u (local.get $h) (i64.const 32))))
        (local.set $out (i32.add (local.get $out) (i32.const 6)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (if (i32.eq (local.get $j) (local.get $width)) (then (local.set $j (i32.const 0))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $cell)))
    (local.get $out))

;; Objects of $width cells each (1 to 8), every cell digested with its object's owner (its key): object i's owner is
  ;; the bytes [owners[2i], owners[2i+1]), its cell j the bytes [cells[2k], cells[2k+1]) for k = i $width + j, or NULL
  ;; when cells[2k] is negative. Cell k gets the first 6 bytes of the SipHash-2-4, under key j (sip[j]), of the owner,
  ;; the byte 0 and the cell's bytes, or for NULL of the owner and the byte 1; the message is assembled at $scratch
  ;; (room for the longest owner, one byte and the longest cell). Written one after the other from $out; returns where
  ;; the last one ends, or -1 when $width is not 1 to 8.
  (func (export "sipOwned") (param $n i32) (param $width i32) (param $owners i32) (param $cells i32) (param $scratch i32) (param $out i32) (result i32)
    (local $i i32) (local $j i32) (local $olen i32) (local $from i32) (local $len i32) (local $key i32) (local $h i64)
    (if (i32.or (i32.lt_s (local.get $width) (i32.const 1)) (i32.gt_s (local.get $width) (i32.const 8))) (then (return (i32.const -1))))
    (block $done
      (loop $object
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $from (i32.load (local.get $owners)))
        (local.set $olen (i32.sub (i32.load offset=4 (local.get $owners)) (local.get $from)))
        (memory.copy (local.get $scratch) (local.get $from) (local.get $olen))
        (local.set $owners (i32.add (local.get $owners) (i32.const 8)))
        (local.set $j (i32.const 0))
        (loop $cell
          (local.set $from (i32.load (local.get $cells)))
          (local.set $key (i32.add (i32.const 832) (i32.shl (local.get $j) (i32.const 4))))
          (if (i32.lt_s (local.get $from) (i32.const 0))
            (then
              (i32.store8 (i32.add (local.get $scratch) (local.get $olen)) (i32.const 1))
              (local.set $h (call $sip (local.get $scratch) (i32.add (local.get $olen) (i32.const 1)) (local.get $key))))
            (else
              (local.set $len (i32.sub (i32.load offset=4 (local.get $cells)) (local.get $from)))
              (i32.store8 (i32.add (local.get $scratch) (local.get $olen)) (i32.const 0))
              (memory.copy (i32.add (i32.add (local.get $scratch) (local.get $olen)) (i32.const 1)) (local.get $from) (local.get $len))
              (local.set $h (call $sip (local.get $scratch) (i32.add (i32.add (local.get $olen) (i32.const 1)) (local.get $len)) (local.get $key)))))
          (i32.store (local.get $out) (i32.wrap_i64 (local.get $h)))
          (i32.store16 offset=4 (local.get $out) (i32.wrap_i64 (i64.shr_u (local.get $h) (i64.const 32))))
          (local.set $out (i32.add (local.get $out) (i32.const 6)))
          (local.set $cells (i32.add (local.get $cells) (i32.const 8)))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br_if $cell (i32.lt_u (local.get $j) (local.get $width))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $object)))
    (local.get $out))

  ;; Text i, [starts[i], ends[i]), is a JSON array of scalars (strings, numbers, true, false, null) as
  ;; JSON.stringify writes it: no blanks. Element j of each gets the first 6 bytes of its SipHash-2-4 under key j
  ;; (sip[j]), written one after the other from $out; returns where the last one ends, or -1 when a text holds more
  ;; elements than there are keys or is not such an array.
  (func (export "sipFields") (param $n i32) (param $starts i32) (param $ends i32) (param $out i32) (result i32)
    (local $i i32) (local $q i32) (local $end i32) (local $from i32) (local $j i32) (local $c i32) (local $h i64)
    (block $done
      (loop $text
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $q (i32.load (i32.add (local.get $starts) (i32.shl (local.get $i) (i32.const 2)))))
        ;; $end: the closing bracket.
        (local.set $end (i32.sub (i32.load (i32.add (local.get $ends) (i32.shl (local.get $i) (i32.const 2)))) (i32.const 1)))
        (if (i32.or
              (i32.lt_s (local.get $end) (local.get $q))
              (i32.or (i32.ne (i32.load8_u (local.get $q)) (i32.const 0x5b)) (i32.ne (i32.load8_u (local.get $end)) (i32.const 0x5d))))
          (then (return (i32.const -1))))
        (local.set $q (i32.add (local.get $q) (i32.const 1)))
        (local.set $j (i32.const 0))
        (block $elements
          (loop $element
            (br_if $elements (i32.ge_u (local.get $q) (local.get $end)))
            (if (i32.ge_u (local.get $j) (i32.const 8)) (then (return (i32.const -1))))
            (local.set $from (local.get $q))
            (if (i32.eq (i32.load8_u (local.get $q)) (i32.const 0x22))
              (then
                ;; A string: up to its closing quote, stepping over each backslash escape's next byte.
                (local.set $q (i32.add (local.get $q) (i32.const 1)))
                (block $closed
                  (loop $char
                    (if (i32.ge_u (local.get $q) (local.get $end)) (then (return (i32.const -1))))
                    (local.set $c (i32.load8_u (local.get $q)))
                    (local.set $q (i32.add (local.get $q) (i32.const 1)))
                    (br_if $closed (i32.eq (local.get $c) (i32.const 0x22)))
                    (if (i32.eq (local.get $c) (i32.const 0x5c)) (then (local.set $q (i32.add (local.get $q) (i32.const 1)))))
                    (br $char))))
              (else
                ;; A number, true, false or null: up to the next comma or the closing bracket.
                (block $scalar
                  (loop $char
                    (br_if $scalar (i32.ge_u (local.get $q) (local.get $end)))
                    (br_if $scalar (i32.eq (i32.load8_u (local.get $q)) (i32.const 0x2c)))
                    (local.set $q (i32.add (local.get $q) (i32.const 1)))
                    (br $char)))))
            (local.set $h
              (call $sip (local.get $from) (i32.sub (local.get $q) (local.get $from)) (i32.add (i32.const 832) (i32.shl (local.get $j) (i32.const 4)))))
            (i32.store (local.get $out) (i32.wrap_i64 (local.get $h)))
            (i32.store16 offset=4 (local.get $out) (i32.wrap_i64 (i64.shr_u (local.get $h) (i64.const 32))))
            (local.set $out (i32.add (local.get $out) (i32.const 6)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            ;; Past the comma (or, after the last element, at the closing bracket).
            (if (i32.lt_u (local.get $q) (local.get $end))
              (then
                (if (i32.ne (i32.load8_u (local.get $q)) (i32.const 0x2c)) (then (return (i32.const -1))))
                (local.set $q (i32.add (local.get $q) (i32.const 1)))))
            (br $element)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $text)))
    (local.get $out))
)
