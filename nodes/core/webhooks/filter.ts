// Which deliveries the prediction completed node emits: terminal outcomes the user chose, from the models or
// versions the user chose; non-terminal events (start, output, logs) are progress.
import { isTerminal, type Prediction, type PredictionStatus } from '../http';

export interface DeliveryFilter {
  /** Terminal statuses to emit; empty means all of them. */
  outcomes: PredictionStatus[];
  /** `owner/name`, `owner/name:version` or a version id; empty means any model. */
  models: string[];
}

export type DeliveryRoute = 'result' | 'progress' | 'skip';

function fromModel(prediction: Prediction, ref: string): boolean {
  const [name, version] = ref.split(':', 2);
  if (version !== undefined) return prediction.model === name && prediction.version === version;
  if (/^[0-9a-f]{64}$/.test(ref)) return prediction.version === ref;
  return prediction.model === ref;
}

export function routeDelivery(prediction: Prediction, filter: DeliveryFilter): DeliveryRoute {
  if (filter.models.length > 0 && !filter.models.some((ref) => fromModel(prediction, ref))) return 'skip';
  if (!isTerminal(prediction.status)) return 'progress';
  if (filter.outcomes.length > 0 && !filter.outcomes.includes(prediction.status)) return 'skip';
  return 'result';
}
