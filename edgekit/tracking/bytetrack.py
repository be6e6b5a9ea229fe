"""ByteTrack (Zhang et al., ECCV 2022) exactly as supervision 0.26-0.30 implements it, on numpy and lapx.

Why not a library: edgekit's rules were tuned on supervision's ByteTrack (MIT licence; its variant of the
association, thresholds and track ids), but importing supervision cost the daemon 38 MB of RSS (its import alone
~57 MB after numpy and OpenCV: scipy.optimize and scipy.linalg ~49 MB, then PIL, requests, ...), a sixth of the
250 MB a Pi's daemon may use, and supervision 0.31 removed ByteTrack. Its successor, Roboflow's `trackers`,
depends on supervision and the full opencv-python; the other ByteTrack packages (bytetracker, cjm-byte-track) are
unmaintained ports of the original, whose matching (lap's cost_limit) and id assignment differ from supervision's,
so alerts would change.

So this module follows supervision's code step for step (``tests/tracking/test_bytetrack.py`` runs both side by side
and requires the same track ids frame after frame), with its two scipy calls replaced: the assignment by lapx's
Jonker-Volgenant solver (a small, maintained C++ extension over numpy; the same optimum as scipy's
``linear_sum_assignment``), and the Kalman gain's Cholesky solve by ``numpy.linalg.solve`` (the same solution up
to rounding).
"""

from __future__ import annotations

from enum import Enum

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
Matches = tuple[npt.NDArray[np.int_], tuple[int, ...], tuple[int, ...]]


class _Ids:
    """Consecutive ids from ``start``."""

    def __init__(self, start: int = 0) -> None:
        self.start = start
        self.next = start

    def new_id(self) -> int:
        self.next += 1
        return self.next - 1

    def reset(self) -> None:
        self.next = self.start


NO_ID = -1


class TrackState(Enum):
    New = 0
    Tracked = 1
    Lost = 2
    Removed = 3


class KalmanFilter:
    """Constant-velocity Kalman filter over (centre x, centre y, aspect w/h, height) and their velocities."""

    def __init__(self) -> None:
        ndim, dt = 4, 1.0
        self._motion_mat: F64 = np.eye(2 * ndim, 2 * ndim)
        for i in range(ndim):
            self._motion_mat[i, ndim + i] = dt
        self._update_mat: F64 = np.eye(ndim, 2 * ndim)
        self._std_weight_position = 1.0 / 20
        self._std_weight_velocity = 1.0 / 160

    def initiate(self, measurement: npt.NDArray[np.floating]) -> tuple[F64, F64]:
        mean = np.r_[measurement, np.zeros_like(measurement)]
        h = measurement[3]
        std = [2 * self._std_weight_position * h, 2 * self._std_weight_position * h, 1e-2,
               2 * self._std_weight_position * h, 10 * self._std_weight_velocity * h,
               10 * self._std_weight_velocity * h, 1e-5, 10 * self._std_weight_velocity * h]
        return mean, np.diag(np.square(std))

    def project(self, mean: F64, covariance: F64) -> tuple[F64, F64]:
        h = mean[3]
        std = [self._std_weight_position * h, self._std_weight_position * h, 1e-1, self._std_weight_position * h]
        innovation_cov = np.diag(np.square(std))
        mean = np.dot(self._update_mat, mean)
        covariance = np.linalg.multi_dot((self._update_mat, covariance, self._update_mat.T))
        return mean, covariance + innovation_cov

    def multi_predict(self, mean: F64, covariance: F64) -> tuple[F64, F64]:
        """Prediction step for N tracks at once (N×8 means, N×8×8 covariances)."""
        h = mean[:, 3]
        std_pos = [self._std_weight_position * h, self._std_weight_position * h, 1e-2 * np.ones_like(h),
                   self._std_weight_position * h]
        std_vel = [self._std_weight_velocity * h, self._std_weight_velocity * h, 1e-5 * np.ones_like(h),
                   self._std_weight_velocity * h]
        sqr = np.square(np.r_[std_pos, std_vel]).T
        motion_cov = np.asarray([np.diag(sqr[i]) for i in range(len(mean))])
        mean = np.dot(mean, self._motion_mat.T)
        left = np.dot(self._motion_mat, covariance).transpose((1, 0, 2))
        covariance = np.dot(left, self._motion_mat.T) + motion_cov
        return mean, covariance

    def update(self, mean: F64, covariance: F64, measurement: npt.NDArray[np.floating]) -> tuple[F64, F64]:
        projected_mean, projected_cov = self.project(mean, covariance)
        # supervision solves this with scipy's Cholesky factor; the covariance is SPD, so a plain solve gives the
        # same gain (to rounding) without importing scipy.linalg
        kalman_gain = np.linalg.solve(projected_cov, np.dot(covariance, self._update_mat.T).T).T
        innovation = measurement - projected_mean
        new_mean = mean + np.dot(innovation, kalman_gain.T)
        new_covariance = covariance - np.linalg.multi_dot((kalman_gain, projected_cov, kalman_gain.T))
        return new_mean, new_covariance


class STrack:
    """One track (or, before activation, one detection that may start one)."""

    def __init__(self, tlwh: F64, score: float, min_frames: int, ids: _Ids, external_ids: _Ids) -> None:
        self.state = TrackState.New
        self.is_activated = False
        self.start_frame = 0
        self.frame_id = 0
        self._tlwh = np.asarray(tlwh, dtype=np.float32)
        self.kalman_filter: KalmanFilter | None = None
        self.mean: F64 | None = None
        self.covariance: F64 | None = None
        self.score = score
        self.tracklet_len = 0
        self.min_frames = min_frames
        self._ids, self._external_ids = ids, external_ids
        self.internal_track_id = NO_ID
        self.external_track_id = NO_ID

    @staticmethod
    def multi_predict(stracks: list[STrack], shared_kalman: KalmanFilter) -> None:
        if not stracks:
            return
        means, covs = [], []
        for st in stracks:
            assert st.mean is not None and st.covariance is not None
            m = st.mean.copy()
            if st.state != TrackState.Tracked:
                m[7] = 0
            means.append(m)
            covs.append(st.covariance)
        pred_mean, pred_cov = shared_kalman.multi_predict(np.asarray(means), np.asarray(covs))
        for st, mean, cov in zip(stracks, pred_mean, pred_cov, strict=True):
            st.mean, st.covariance = mean, cov

    def activate(self, kalman_filter: KalmanFilter, frame_id: int) -> None:
        """Start a new tracklet from its first detection."""
        self.kalman_filter = kalman_filter
        self.internal_track_id = self._ids.new_id()
        self.mean, self.covariance = kalman_filter.initiate(self.tlwh_to_xyah(self._tlwh))
        self.tracklet_len = 1
        self.state = TrackState.Tracked
        if frame_id == 1 and self.tracklet_len >= self.min_frames:
            self.is_activated = True
            self.external_track_id = self._external_ids.new_id()
        self.frame_id = frame_id
        self.start_frame = frame_id

    def re_activate(self, new_track: STrack, frame_id: int) -> None:
        assert self.kalman_filter is not None and self.mean is not None and self.covariance is not None
        self.mean, self.covariance = self.kalman_filter.update(self.mean, self.covariance,
                                                               self.tlwh_to_xyah(new_track.tlwh))
        self.tracklet_len = 0
        self.state = TrackState.Tracked
        self.frame_id = frame_id
        self.score = new_track.score

    def update(self, new_track: STrack, frame_id: int) -> None:
        assert self.kalman_filter is not None and self.mean is not None and self.covariance is not None
        self.frame_id = frame_id
        self.tracklet_len += 1
        self.mean, self.covariance = self.kalman_filter.update(self.mean, self.covariance,
                                                               self.tlwh_to_xyah(new_track.tlwh))
        self.state = TrackState.Tracked
        if self.tracklet_len >= self.min_frames:
            self.is_activated = True
            if self.external_track_id == NO_ID:
                self.external_track_id = self._external_ids.new_id()
        self.score = new_track.score

    @property
    def tlwh(self) -> npt.NDArray[np.floating]:
        """(top-left x, top-left y, width, height): the filter's estimate once it has one."""
        if self.mean is None:
            return self._tlwh.copy()
        ret = self.mean[:4].copy()
        ret[2] *= ret[3]
        ret[:2] -= ret[2:] / 2
        return ret

    @property
    def tlbr(self) -> npt.NDArray[np.floating]:
        ret = self.tlwh.copy()
        ret[2:] += ret[:2]
        return ret

    @staticmethod
    def tlwh_to_xyah(tlwh: npt.NDArray[np.floating]) -> npt.NDArray[np.floating]:
        ret = np.asarray(tlwh).copy()
        ret[:2] += ret[2:] / 2
        ret[2] /= ret[3]
        return ret

    @staticmethod
    def tlbr_to_tlwh(tlbr: F64) -> F64:
        ret = np.asarray(tlbr).copy()
        ret[2:] -= ret[:2]
        return ret


def box_iou_batch(a: npt.NDArray[np.floating], b: npt.NDArray[np.floating]) -> npt.NDArray[np.float32]:
    """IoU of every box of ``a`` (N×4 xyxy) with every box of ``b`` (M×4), computed in float64, returned float32."""
    if len(a) == 0 or len(b) == 0:
        return np.empty((len(a), len(b)), dtype=np.float32)
    a, b = a.astype(np.float64), b.astype(np.float64)
    iw = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0.0, None)
    ih = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0.0, None)
    inter = iw * ih
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    out = np.zeros_like(inter, dtype=np.float32)
    np.divide(inter, union, out=out, where=union > 0)
    return out


def linear_assignment(cost: npt.NDArray[np.floating], thresh: float) -> Matches:
    """(matches K×2, unmatched rows, unmatched columns): a minimum-cost matching of min(N, M) pairs in which costs
    above ``thresh`` are all equal, keeping the pairs at or below ``thresh`` (supervision's rule)."""
    if cost.size == 0:
        return np.empty((0, 2), dtype=int), tuple(range(cost.shape[0])), tuple(range(cost.shape[1]))
    import lap  # lapx

    clipped = cost.copy()  # clipped in the cost's own dtype (float32), as supervision does, then solved in float64
    clipped[clipped > thresh] = thresh + 1e-4
    _, x, _ = lap.lapjv(np.ascontiguousarray(clipped, dtype=np.float64), extend_cost=True)
    rows = np.flatnonzero(x >= 0)
    indices = np.column_stack((rows, x[rows])).astype(int)
    matched = cost[indices[:, 0], indices[:, 1]] <= thresh
    matches = indices[matched]
    unmatched_a = tuple(set(range(cost.shape[0])) - set(matches[:, 0].tolist()))
    unmatched_b = tuple(set(range(cost.shape[1])) - set(matches[:, 1].tolist()))
    return matches, unmatched_a, unmatched_b


def iou_distance(a: list[STrack], b: list[STrack]) -> npt.NDArray[np.float32]:
    if not a or not b:
        return np.empty((len(a), len(b)), dtype=np.float32)
    ious = box_iou_batch(np.asarray([t.tlbr for t in a], dtype=np.float32),
                         np.asarray([t.tlbr for t in b], dtype=np.float32))
    return np.asarray(1 - ious, dtype=np.float32)


def fuse_score(cost: npt.NDArray[np.float32], dets: list[STrack]) -> npt.NDArray[np.float32]:
    """Cost 1 - IoU × detection score (a confident detection matches more easily)."""
    if cost.size == 0:
        return cost
    scores = np.array([d.score for d in dets], dtype=np.float32)[None, :].repeat(cost.shape[0], axis=0)
    return np.asarray(1 - (1 - cost) * scores, dtype=np.float32)


def joint_tracks(a: list[STrack], b: list[STrack]) -> list[STrack]:
    """``a`` then ``b``, each internal id once."""
    seen: set[int] = set()
    out = []
    for t in a + b:
        if t.internal_track_id not in seen:
            seen.add(t.internal_track_id)
            out.append(t)
    return out


def sub_tracks(a: list[STrack], b: list[STrack]) -> list[STrack]:
    """``a`` without the internal ids of ``b``."""
    tracks = {t.internal_track_id: t for t in a}
    for tid in {t.internal_track_id for t in b}:
        tracks.pop(tid, None)
    return list(tracks.values())


def remove_duplicate_tracks(a: list[STrack], b: list[STrack]) -> tuple[list[STrack], list[STrack]]:
    """Of two tracks with nearly the same box (IoU > 0.95), keep the longer-lived."""
    rows, cols = np.where(iou_distance(a, b) < 0.05)
    dup_a, dup_b = set(), set()
    for i, j in zip(rows, cols, strict=True):
        if a[i].frame_id - a[i].start_frame > b[j].frame_id - b[j].start_frame:
            dup_b.add(j)
        else:
            dup_a.add(i)
    return [t for i, t in enumerate(a) if i not in dup_a], [t for j, t in enumerate(b) if j not in dup_b]


class ByteTrack:
    """Supervision's ``ByteTrack`` on arrays: ``update(xyxy, scores)`` → (rows of the input that are tracked, their
    track ids), ids from 1, in the order of the input rows."""

    def __init__(self, track_activation_threshold: float = 0.25, lost_track_buffer: int = 30,
                 minimum_matching_threshold: float = 0.8, frame_rate: float = 30,
                 minimum_consecutive_frames: int = 1) -> None:
        self.track_activation_threshold = track_activation_threshold
        self.minimum_matching_threshold = minimum_matching_threshold
        self.frame_id = 0
        self.det_thresh = track_activation_threshold + 0.1
        if self.det_thresh > 1.0:
            self.det_thresh = track_activation_threshold
        self.max_time_lost = int(frame_rate / 30.0 * lost_track_buffer)
        self.minimum_consecutive_frames = minimum_consecutive_frames
        self.kalman_filter = KalmanFilter()
        self.shared_kalman = KalmanFilter()
        self.tracked_tracks: list[STrack] = []
        self.lost_tracks: list[STrack] = []
        self.removed_tracks: list[STrack] = []
        # internal ids from 0, the ids users see from 1 (as supervision)
        self._ids = _Ids(0)
        self._external_ids = _Ids(1)

    def reset(self) -> None:
        """Forget every track and restart the ids."""
        self.frame_id = 0
        self._ids.reset()
        self._external_ids.reset()
        self.tracked_tracks, self.lost_tracks, self.removed_tracks = [], [], []

    def update(self, xyxy: F64, scores: npt.NDArray[np.floating]) -> tuple[npt.NDArray[np.int64],
                                                                         npt.NDArray[np.int64]]:
        """Associate one frame's boxes (N×4 xyxy) and scores (N) with the tracks."""
        tensors = np.hstack((xyxy, scores[:, np.newaxis]))
        tracks = self._update_with_tensors(tensors)
        ids = np.full(len(tensors), -1, dtype=np.int64)
        if tracks:
            ious = box_iou_batch(tensors[:, :4], np.asarray([t.tlbr for t in tracks]))
            matches, _, _ = linear_assignment(1 - ious, 0.5)
            for i_det, i_track in matches:
                ids[i_det] = int(tracks[i_track].external_track_id)
        keep = np.flatnonzero(ids != -1)
        return keep.astype(np.int64), ids[keep]

    def _new(self, boxes: F64, scores: F64) -> list[STrack]:
        return [STrack(STrack.tlbr_to_tlwh(tlbr), s, self.minimum_consecutive_frames, self._ids, self._external_ids)
                for tlbr, s in zip(boxes, scores, strict=True)]

    def _continue(self, matches: npt.NDArray[np.int_], tracks: list[STrack], detections: list[STrack],
                  activated: list[STrack], refound: list[STrack]) -> None:
        """Matched pairs: a tracked track takes its detection, a lost one is re-activated by it."""
        for it, idet in matches:
            track, det = tracks[it], detections[idet]
            if track.state == TrackState.Tracked:
                track.update(det, self.frame_id)
                activated.append(track)
            else:
                track.re_activate(det, self.frame_id)
                refound.append(track)

    def _update_with_tensors(self, tensors: F64) -> list[STrack]:
        self.frame_id += 1
        activated: list[STrack] = []
        refound: list[STrack] = []
        lost: list[STrack] = []
        removed: list[STrack] = []

        boxes4 = tensors[:, :4]
        valid = (np.isfinite(tensors).all(axis=1) & (boxes4[:, 2] - boxes4[:, 0] > 0)
                 & (boxes4[:, 3] - boxes4[:, 1] > 0))
        tensors = tensors[valid]
        scores, bboxes = tensors[:, 4], tensors[:, :4]
        remain = scores >= self.track_activation_threshold
        second = (scores > 0.1) & (scores < self.track_activation_threshold)
        detections = self._new(bboxes[remain], scores[remain])

        unconfirmed = [t for t in self.tracked_tracks if not t.is_activated]
        tracked = [t for t in self.tracked_tracks if t.is_activated]

        # 1. first association: confirmed and lost tracks with the confident detections
        pool = joint_tracks(tracked, self.lost_tracks)
        STrack.multi_predict(pool, self.shared_kalman)
        dists = fuse_score(iou_distance(pool, detections), detections)
        matches, u_track, u_detection = linear_assignment(dists, thresh=self.minimum_matching_threshold)
        self._continue(matches, pool, detections, activated, refound)

        # 2. second association: the tracks left over with the low-score detections
        detections_second = self._new(bboxes[second], scores[second])
        r_tracked = [pool[i] for i in u_track if pool[i].state == TrackState.Tracked]
        matches, u_track, _ = linear_assignment(iou_distance(r_tracked, detections_second), thresh=0.5)
        self._continue(matches, r_tracked, detections_second, activated, refound)
        for it in u_track:
            track = r_tracked[it]
            if track.state != TrackState.Lost:
                track.state = TrackState.Lost
                lost.append(track)

        # 3. unconfirmed tracks (one frame old) with the confident detections still unmatched
        detections = [detections[i] for i in u_detection]
        dists = fuse_score(iou_distance(unconfirmed, detections), detections)
        matches, u_unconfirmed, u_detection = linear_assignment(dists, thresh=0.7)
        for it, idet in matches:
            unconfirmed[it].update(detections[idet], self.frame_id)
            activated.append(unconfirmed[it])
        for it in u_unconfirmed:
            track = unconfirmed[it]
            track.state = TrackState.Removed
            removed.append(track)

        # 4. new tracks from what is left, if confident enough
        for inew in u_detection:
            track = detections[inew]
            if track.score < self.det_thresh:
                continue
            track.activate(self.kalman_filter, self.frame_id)
            activated.append(track)

        # 5. forget tracks lost for too long
        for track in self.lost_tracks:
            if self.frame_id - track.frame_id > self.max_time_lost:
                track.state = TrackState.Removed
                removed.append(track)

        self.tracked_tracks = [t for t in self.tracked_tracks if t.state == TrackState.Tracked]
        self.tracked_tracks = joint_tracks(self.tracked_tracks, activated)
        self.tracked_tracks = joint_tracks(self.tracked_tracks, refound)
        self.lost_tracks = sub_tracks(self.lost_tracks, self.tracked_tracks)
        self.lost_tracks.extend(lost)
        self.lost_tracks = sub_tracks(self.lost_tracks, self.removed_tracks)
        self.removed_tracks = removed
        self.tracked_tracks, self.lost_tracks = remove_duplicate_tracks(self.tracked_tracks, self.lost_tracks)
        return [t for t in self.tracked_tracks if t.is_activated]
