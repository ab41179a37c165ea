"""The device level pool of the torch backend: a ring of levels on the device, refilled in
blocks by a producer (`fastmaze.torch_env.producers`) under a rule that never plays a level
before it was uploaded nor overwrites one before it was played.

**Level pool.** Levels are generated on the host by the compiled core
(`fastmaze.levels.generate_into` into reused `Levels` arrays; `fastmaze.solve` for
``optimal_length`` / ``ambiguous``), packed into (pinned, with CUDA) host buffers and copied
to a pool on the device: a ring of ``pool_size`` slots, refilled in blocks of ``block_size``
levels. Stream position k (the k-th reset since the stream (re)started) lives in slot
k mod pool_size. A background thread generates the next block into the other of two host
buffers while the device consumes the pool (double buffering); the copy runs with
``non_blocking=True`` on a side CUDA stream, and the step's stream waits on it.

The device keeps the reset counter k (a tensor); a step's resets take positions
k + cumsum(reset mask) - 1 (envs in increasing index), as the native backend does. The host
knows k only with a lag (a non-blocking copy read when its CUDA event completes) and bounds
it from above by adding num_envs per call since. **Refill rule:** before a call that may
reset up to num_envs envs, the pool must hold every position up to that bound; the host
uploads blocks whose slots are free (all their former positions below the known k). If the
bound outruns what can be uploaded (the device is many calls ahead of the last counter read
the host has seen, so it cannot tell which slots were consumed), the host reads k
synchronously (one device sync) and refills. Levels are never wrong: a slot is overwritten
only once its position is known to be consumed, and a position is played only after it was
uploaded. The defaults (pool_size = max(4·num_envs, 65,536), block_size ≤ pool_size/4)
keep that sync rare. With ``num_levels=K`` the pool holds the K levels of the training
set, uploaded once per stream start; position k plays slot k mod K, id first_id + k mod K.
"""

from __future__ import annotations

from collections import deque

import torch

from fastmaze.validate import check_int


class LevelPool:
    """The pool's part of `fastmaze.torch_env.TorchVecMazeEnv` (a base class of it): sizes,
    (re)start, prefetching and uploads, and the refill rule around each consuming call.
    The env allocates ``_pool_sq`` / ``_pool_meta`` and the counter ``_k``; its step reads
    them."""

    def _sizes(self, pool_size: int | None, block_size: int | None) -> None:
        n = self.num_envs
        if self.num_levels is not None:
            self.pool_size = self.num_levels
            default_block = min(self.num_levels, 65536)
        else:
            self.pool_size = (
                max(4 * n, 65536)
                if pool_size is None
                else check_int("pool_size", pool_size, 2, 2**40)
            )
            default_block = max(1, min(max(4096, n), self.pool_size // 4))
        self.block_size = (
            default_block
            if block_size is None
            else check_int("block_size", block_size, 1, self.pool_size)
        )
        if self.num_levels is None and self.pool_size < n + self.block_size:
            raise ValueError(
                f"pool_size: {self.pool_size} levels; the streaming pool needs at least "
                f"num_envs + block_size = {n} + {self.block_size}"
            )

    def _restart(self) -> None:
        """(Re)starts the stream at position 0 (first_id) with ``self.seed``."""
        future = getattr(self, "_future", None)
        if future is not None:
            future.result()
        if self._cuda:  # uploads on the side stream must not race queued reads of the pool
            self._side.wait_stream(torch.cuda.current_stream(self.device))
        self._k.zero_()
        self._filled = 0  # positions 0 .. _filled-1 were uploaded
        self._k_lo = 0  # a position below it is consumed: the counter, as last read
        self._calls = 0  # consuming calls since the start
        self._bound = 0  # sum of num_envs over those calls: k <= _k_lo + _bound - _bound_lo
        self._bound_lo = 0
        self._inflight: deque = deque()  # (read buffer, CUDA event, _bound at read, call)
        self._buf = 0
        self._future = None
        if self.num_levels is not None:
            while self._filled < self.num_levels:
                self._upload(self._produce_now())
        else:
            self._prefetch()

    def _next_count(self) -> int:
        if self.num_levels is not None:
            return min(self.block_size, self.num_levels - self._filled)
        return self.block_size

    def _produce_now(self) -> tuple[int, int, int]:
        return self._host.produce(self._buf, self._filled, self._next_count())

    def _prefetch(self) -> None:
        """Starts generating the next block in the background (streaming pool only)."""
        if self.num_levels is None and self._future is None:
            self._future = self._executor.submit(
                self._host.produce, self._buf, self._filled, self._next_count()
            )

    def _upload(self, block: tuple[int, int, int]) -> None:
        """Copies a produced block into its ring slots (side stream with CUDA)."""
        buf, pos, count = block
        assert pos == self._filled
        R = self.pool_size
        parts = []
        lo = pos % R
        first = min(count, R - lo)
        parts.append((lo, 0, first))
        if first < count:
            parts.append((0, first, count - first))
        sq, meta = self._host.sq[buf], self._host.meta[buf]
        if self._cuda:
            with torch.cuda.stream(self._side):
                for slot, off, m in parts:
                    self._pool_sq[slot : slot + m].copy_(sq[off : off + m], non_blocking=True)
                    self._pool_meta[slot : slot + m].copy_(meta[off : off + m], non_blocking=True)
                event = torch.cuda.Event()
                event.record(self._side)
            torch.cuda.current_stream(self.device).wait_event(event)
            self._host.copied[buf] = event
        else:
            for slot, off, m in parts:
                self._pool_sq[slot : slot + m].copy_(sq[off : off + m])
                self._pool_meta[slot : slot + m].copy_(meta[off : off + m])
        self._filled += count
        self._buf = 1 - buf

    def _poll(self) -> None:
        """Takes in the counter reads that have arrived (without waiting)."""
        while self._inflight:
            value, event, bound, call = self._inflight[0]
            ready = self._calls - call >= self._min_lag and (event is None or event.query())
            if not ready:
                break
            self._inflight.popleft()
            self._k_lo, self._bound_lo = int(value), bound

    def _read_counter(self) -> None:
        """Queues a non-blocking copy of the counter to the host."""
        if len(self._inflight) == len(self._reads):
            return
        value = self._reads[self._calls % len(self._reads)]
        value.copy_(self._k, non_blocking=self._cuda)
        event = None
        if self._cuda:
            event = torch.cuda.Event()
            event.record(torch.cuda.current_stream(self.device))
        self._inflight.append((value, event, self._bound, self._calls))

    def _room(self) -> bool:
        """Whether the next block's slots only held positions known to be consumed."""
        return self._filled + self._next_count() <= self._k_lo + self.pool_size

    def _ensure(self, resets: int) -> None:
        """Makes the pool hold every position a call resetting up to ``resets`` envs may
        take (the refill rule of the module docstring)."""
        if self.num_levels is not None:
            return
        self._poll()
        need = self._k_lo + (self._bound - self._bound_lo) + resets
        while self._filled < need:
            if not self._room():  # the host cannot tell which slots are free: sync once
                self.sync_refills += 1
                self._inflight.clear()
                self._k_lo, self._bound_lo = int(self._k), self._bound
                need = self._k_lo + resets
                continue
            block = self._future.result() if self._future is not None else self._produce_now()
            self._future = None
            self._upload(block)
            self._prefetch()

    def _top_up(self) -> None:
        """After a call: uploads the prefetched block if it is ready and has room."""
        if self.num_levels is not None:
            return
        self._poll()
        while self._future is not None and self._future.done() and self._room():
            block = self._future.result()
            self._future = None
            self._upload(block)
            self._prefetch()

    def _consumed(self, resets: int) -> None:
        self._calls += 1
        self._bound += resets
        self._read_counter()
        self._top_up()
