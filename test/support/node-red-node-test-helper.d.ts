declare module 'node-red-node-test-helper' {
  import type { EventEmitter } from 'events';
  import type { Express } from 'express';
  import type { Node, NodeAPI } from 'node-red';
  import type supertest from 'supertest';

  type NodeModule = (RED: NodeAPI) => void | Promise<void>;
  /** A sinon spy: its calls, oldest first. */
  interface Spy {
    args: unknown[][];
    getCalls(): Array<{ thisValue: unknown; args: unknown[] }>;
    /** Forgets the calls (and the messages they hold). */
    resetHistory(): void;
  }
  interface Helper {
    init(runtimePath: string, userSettings?: Record<string, unknown>): void;
    settings(userSettings?: Record<string, unknown>): Record<string, unknown>;
    load(nodes: NodeModule | NodeModule[], flow: object[], credentials?: Record<string, object>): Promise<void>;
    unload(): Promise<void>;
    setFlows(flow: object[], type?: 'full' | 'flows' | 'nodes', credentials?: Record<string, object>): Promise<void>;
    /** The node of that id in the loaded flows; tests cast it to the node's own interface for more. */
    getNode(id: string): Node;
    clearFlows(): Promise<void>;
    request(): supertest.SuperTest<supertest.Test>;
    startServer(): Promise<void>;
    stopServer(): Promise<void>;
    url(): string;
    log(): { args: unknown[][]; resetHistory(): void };
    _httpAdmin: Express;
    /** The runtime's flows API, for a deploy as the editor makes it. */
    _redNodes: {
      getFlows(): { flows: Array<Record<string, unknown>> };
      setFlows(flows: object[], credentials: Record<string, object> | null, type: 'full' | 'flows' | 'nodes'): Promise<unknown>;
    };
    /** The runtime's credentials store. */
    credentials: { getDefinition(type: string): Record<string, { type: string }> | undefined };
    /** The runtime's event bus (RED.events). */
    _events: EventEmitter;
    /** Node.prototype, its status/error/warn/send wrapped in sinon spies while a flow is loaded. */
    _NodePrototype: Partial<Record<'status' | 'error' | 'warn' | 'send', Spy>>;
  }
  const helper: Helper;
  export = helper;
}
