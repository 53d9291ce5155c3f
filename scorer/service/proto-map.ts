/** Translations between the scorer's own values and the generated protobuf types. */
import {
  Action,
  Modality as ProtoModality,
  ProfileState as ProtoProfileState,
  TrustState,
  type ProfileStatus as ProtoProfileStatus,
  type Verdict,
} from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import type { SessionVerdict } from '../session/session.js';
import type { ProfileStatus } from './engine.js';

const LEVEL: Record<SessionVerdict['level'], TrustState> = {
  enrolling: TrustState.TRUST_STATE_ENROLLING,
  trusted: TrustState.TRUST_STATE_TRUSTED,
  suspect: TrustState.TRUST_STATE_SUSPECT,
  mismatch: TrustState.TRUST_STATE_MISMATCH,
};

const ACTION: Record<SessionVerdict['action'], Action> = {
  none: Action.ACTION_NONE,
  challenge: Action.ACTION_CHALLENGE,
  terminate: Action.ACTION_TERMINATE,
};

const PROFILE_STATE: Record<'absent' | 'enrolling' | 'mature', ProtoProfileState> = {
  absent: ProtoProfileState.PROFILE_STATE_ABSENT,
  enrolling: ProtoProfileState.PROFILE_STATE_ENROLLING,
  mature: ProtoProfileState.PROFILE_STATE_MATURE,
};

export function toProtoProfileState(state: 'absent' | 'enrolling' | 'mature'): ProtoProfileState {
  return PROFILE_STATE[state];
}

/** `batchSeq`: the batch being applied when the verdict was made. */
export function toProtoVerdict(v: SessionVerdict, batchSeq: number): Verdict {
  return {
    batchSeq,
    trust: v.trust,
    state: LEVEL[v.level],
    action: ACTION[v.action],
    reason: v.reason,
    modality: v.modality === 'keystroke' ? ProtoModality.MODALITY_KEYSTROKE : ProtoModality.MODALITY_MOUSE,
    windowScore: v.windowScore,
    atTimeMs: v.atTimeMs,
    windowsScored: v.windowsScored,
    profileState: PROFILE_STATE[v.profileState],
    timing: {
      client: v.timing.client,
      missing: v.timing.missing,
      backwards: v.timing.backwards,
      future: v.timing.future,
      outsideEnvelope: v.timing.outsideEnvelope,
      distrusted: v.timing.distrusted,
      inconsistentStretches: v.timing.inconsistentStretches,
      envelopeMs: v.timing.envelopeMs,
    },
  };
}

export function toProtoProfileStatus(s: ProfileStatus): ProtoProfileStatus {
  return {
    agentId: s.agentId,
    state: PROFILE_STATE[s.state],
    version: s.version,
    keystrokesEnrolled: s.keystrokes,
    mouseActionsEnrolled: s.mouseActions,
    keystrokesRequired: s.keystrokesRequired,
    mouseActionsRequired: s.mouseActionsRequired,
    updatedAtUnixMs: s.updatedAt.getTime(),
  };
}
