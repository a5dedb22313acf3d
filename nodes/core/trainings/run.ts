// A training's life as the create training node asks for it: its trainer's schema, the input
// (files zipped, inline or uploaded with the files room's uploads), the destination made sure
// of, the create, and, when asked, the wait until it has ended, with the predictions' poller.
import {
  checkPredictionId,
  createMayHaveHappened,
  InputError,
  isTerminal,
  isVersionId,
  parseModelRef,
  type CallOptions,
  type Field,
  type ReplicateClient,
  type Training,
  type WebhookEvent,
} from '../http';
import { checkInput } from '../models';
import { prepareFileInputs } from '../files';
import { PollsExhaustedError, type PollPlan, type PredictionPoller } from '../predictions';
import { ensureDestination } from './destination';
import { placeTrainingPayload, trainingInputOf, type TrainerRef } from './training-input';

export interface TrainingRequest {
  trainer: TrainerRef;
  destination: string;
  createDestination: boolean;
  hardware: string;
  /** The fixed inputs with the form's fields read for this message. */
  defaults: Record<string, unknown>;
  payload: unknown;
  filenames?: unknown;
  webhook?: string;
  webhookEvents?: WebhookEvent[];
  wait: 'none' | 'complete';
  plan: PollPlan;
  deleteUploads: boolean;
  /** Files up to this many bytes go inline. */
  inlineLimit: number;
}

export interface TrainingProgress extends CallOptions {
  /** A step before the create: `zipping`, `creatingModel`, `uploading` (with its percent). */
  onStep?: (step: 'creatingModel' | 'uploading' | 'creating', percent?: number) => void;
  onCreated?: (training: Training) => void;
  onPoll?: (training: Training, polls: number) => void;
}

/**
 * The trainer named as `owner/name:version`, or `owner/name` (its latest version, looked up).
 * A bare version id will not do: the trainings endpoint needs the model's name.
 */
export async function resolveTrainer(client: ReplicateClient, ref: string, field: Field, options: CallOptions = {}): Promise<TrainerRef> {
  const target = parseModelRef(ref, field);
  if (target.kind === 'version' && target.model) return { ...target.model, version: target.version };
  if (target.kind === 'model') {
    const model = await client.getModel(`${target.owner}/${target.name}`, options);
    const version = model.latest_version?.id;
    if (isVersionId(version)) return { owner: target.owner, name: target.name, version };
  }
  throw new InputError('training.trainerNeedsModel', { field, value: ref });
}

/** Starts the training and, as asked, returns it as created or once it has ended. */
export async function runTraining(
  client: ReplicateClient,
  poller: PredictionPoller,
  request: TrainingRequest,
  progress: TrainingProgress = {},
): Promise<Training> {
  const call = { signal: progress.signal, onRetry: progress.onRetry };
  const schema = await trainingInputOf(client, request.trainer, call);
  const input = checkInput(
    schema.fields,
    placeTrainingPayload(request.payload, request.defaults, schema, request.filenames),
    `${request.trainer.owner}/${request.trainer.name}`,
  );
  const destination = await ensureDestination(client, request.destination, {
    ...call,
    create: request.createDestination,
    hardware: request.hardware,
    onCreating: () => progress.onStep?.('creatingModel'),
  });
  const files = await prepareFileInputs(client, input, {
    ...call,
    inlineLimit: request.inlineLimit,
    onProgress: (sent, total) => progress.onStep?.('uploading', total > 0 ? Math.floor((sent * 100) / total) : 100),
  });
  const deleteUploads = async () => {
    if (request.deleteUploads) await Promise.allSettled(files.uploaded.map((id) => client.deleteFile(id, { signal: progress.signal })));
  };
  progress.onStep?.('creating');
  let created: Training;
  try {
    created = await client.createTraining(
      request.trainer,
      {
        destination,
        input: files.input,
        ...(request.webhook ? { webhook: request.webhook, webhook_events_filter: request.webhookEvents } : {}),
      },
      call,
    );
  } catch (err) {
    // a create Replicate certainly refused or never received reads no file
    if (!createMayHaveHappened(err)) await deleteUploads();
    throw err;
  }
  progress.onCreated?.(created);
  if (request.wait !== 'complete') return created;
  const { prediction: ended } = await poller
    .wait(created.id, request.plan, {
      initial: created,
      onPoll: progress.onPoll,
      onRetry: progress.onRetry,
      read: (id, options) => client.getTraining(id, options),
    })
    .catch((err: unknown) => {
      throw err instanceof PollsExhaustedError ? new PollsExhaustedError(err.prediction, err.polls, err.status, false, true) : err;
    });
  // Replicate has read them when the training ran; failing to delete them is no reason to fail (they expire)
  if (isTerminal(ended.status)) await deleteUploads();
  return ended;
}

/** `destination:version` of a succeeded training, ready for a create node's model; undefined before. */
export function trainedVersion(training: Training, destination?: string): string | undefined {
  const output = training.output as { version?: unknown } | null | undefined;
  const version = typeof output?.version === 'string' ? output.version : undefined;
  if (!version) return undefined;
  // Replicate writes owner/name:version; a bare id takes the destination when it is known
  return version.includes(':') || !destination || !isVersionId(version) ? version : `${destination}:${version}`;
}

/** The weights URL of a succeeded training. */
export function trainedWeights(training: Training): string | undefined {
  const output = training.output as { weights?: unknown } | null | undefined;
  return typeof output?.weights === 'string' ? output.weights : undefined;
}

/**
 * Polls a training until it has ended. When the budget runs out it throws PollsExhaustedError,
 * after cancelling the training if the plan says so.
 */
export async function awaitTraining(
  client: ReplicateClient,
  poller: PredictionPoller,
  id: string,
  plan: PollPlan & { cancelOnTimeout?: boolean },
  progress: Pick<TrainingProgress, 'signal' | 'onRetry' | 'onPoll'> = {},
): Promise<Training> {
  try {
    const { prediction } = await poller.wait(id, plan, {
      onPoll: progress.onPoll,
      onRetry: progress.onRetry,
      read: (trainingId, options) => client.getTraining(trainingId, options),
    });
    return prediction;
  } catch (err) {
    if (!(err instanceof PollsExhaustedError)) throw err;
    if (!plan.cancelOnTimeout) throw new PollsExhaustedError(err.prediction, err.polls, err.status, false, true);
    const afterCancel = await client.cancelTraining(id, { signal: progress.signal, onRetry: progress.onRetry });
    if (afterCancel.status === 'succeeded' || afterCancel.status === 'failed') return afterCancel;
    throw new PollsExhaustedError(afterCancel, err.polls, err.prediction.status, true, true);
  }
}

/**
 * The training a get or cancel node acts on, when the message names one: no id in the node's
 * setting and no msg.predictionId, but msg.trainingId, or a training (its `urls`) in msg.payload.
 */
export function trainingIdOf(fromSetting: unknown, msg: Record<string, unknown>): string | undefined {
  const given = (value: unknown) => value !== undefined && value !== null && value !== '';
  if (given(fromSetting) || given(msg.predictionId)) return undefined;
  if (given(msg.trainingId)) return checkPredictionId(msg.trainingId, 'msg.trainingId');
  return isTraining(msg.payload) ? checkPredictionId(msg.payload.id, 'msg.payload.id') : undefined;
}

/** Whether Replicate's object is a training: its URLs point at /trainings/. */
export function isTraining(value: unknown): value is Training {
  const get = (value as { urls?: { get?: unknown } } | null | undefined)?.urls?.get;
  return typeof get === 'string' && /\/trainings\/[^/]+$/.test(get);
}
