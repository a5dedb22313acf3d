// List models: one page of Replicate's public models (or of a search) per message, with the
// cursor for the next page; or every page, up to a bound.
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { core } from './lazy-core';
import { flowNode, readSettings } from './flow-node';

export = (RED: NodeAPI) => {
  function ListModels(this: Node, def: NodeDef & Record<string, unknown>) {
    RED.nodes.createNode(this, def);
    const flow = flowNode(RED, this, def.replicate);
    const settings = readSettings(flow, this, core().ListModelsSettingsSchema, def);

    flow.onInput(async (msg, send) => {
      const c = core();
      const s = settings();
      const client = flow.client();
      flow.progress('fetching');
      const result = await c.fetchModels(
        client,
        {
          query: s.query || c.readText(msg, 'query', 500),
          cursor: c.readText(msg, 'cursor', 4096),
          allPages: s.allPages,
          maxPages: s.maxPages,
          sortBy: s.sortBy,
          sortDirection: s.sortDirection,
        },
        { signal: flow.signal, onRetry: flow.retrying, onPage: (pages) => flow.progress('page', { pages }) },
      );
      flow.show('green', 'models', { total: result.models.length });
      msg.payload = result.models;
      msg.next = result.next;
      msg.pages = result.pages;
      send(msg);
    });
  }

  RED.nodes.registerType('replicate-list-models', ListModels);
};
