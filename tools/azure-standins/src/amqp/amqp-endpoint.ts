import type { AddressInfo, Server } from 'node:net';
import rhea, { type Connection, type Container, type Delivery, type EventContext, type Message, type Receiver, type Sender } from 'rhea';
import { audiencePath, checkSharedAccessSignature, type SharedAccessPolicy } from './shared-access-signature.js';

/** A management (request/response) reply: what `$management` and `$cbs` answer with. */
export interface ManagementReply {
  readonly statusCode: number;
  readonly statusDescription: string;
  readonly errorCondition?: string;
  readonly body?: unknown;
}

/** What one AMQP connection has proved: the audiences its put-token requests were granted for. */
export interface ConnectionGrants {
  readonly audiences: Set<string>;
}

/** The entity-specific behaviour a stand-in plugs into the shared endpoint. */
export interface EntityHandlers {
  /** The client attached a receiver (we send): the source address names what it reads. */
  senderOpened(sender: Sender, grants: ConnectionGrants): void;
  /** The client attached a sender (we receive): the target address names where it writes. */
  receiverOpened(receiver: Receiver, grants: ConnectionGrants): void;
  /** A request on `<entity>/$management`. */
  management(entityPath: string, request: Message, grants: ConnectionGrants): ManagementReply;
  /** The connection went away: release what it held. */
  connectionClosed?(connection: Connection): void;
}

export interface AmqpEndpointOptions {
  /** The keys a token may be signed with; a function when they change (IoT Hub device keys). */
  readonly policies: readonly SharedAccessPolicy[] | (() => readonly SharedAccessPolicy[]);
  /** Whether a token signed with this key may grant this audience (a device key only its device). */
  readonly mayGrant?: (keyName: string, audiencePath: string) => boolean;
  /** How policy keys become HMAC bytes: Service Bus and Event Hubs use UTF-8, IoT Hub base64. */
  readonly keyEncoding?: 'utf8' | 'base64';
  /** Serve AMQPS with this key and certificate (PEM) instead of plain AMQP. */
  readonly tls?: { readonly key: string; readonly cert: string };
  readonly host?: string;
  readonly port?: number;
  /** What a granted put-token answers: Service Bus and Event Hubs say 202, IoT Hub 200 (and its SDK wants 200). */
  readonly putTokenStatus?: number;
}

const CBS = '$cbs';
const MANAGEMENT = '$management';
const MANAGEMENT_SUFFIX = '/$management';

/**
 * An AMQP 1.0 listener on loopback with what every Azure messaging service shares: SASL
 * (ANONYMOUS, or PLAIN with the policy name), claims-based security on `$cbs` (put-token with a
 * shared access signature, checked against the policies), request/response links on
 * `<entity>/$management`, and refusal of any attach to an entity no granted audience covers.
 */
export class AmqpEndpoint {
  private readonly container: Container;
  private server: Server | undefined;
  private readonly grants = new WeakMap<Connection, ConnectionGrants>();
  private readonly replyLinks = new WeakMap<Connection, Map<string, Sender>>();
  private readonly connections = new Set<Connection>();

  constructor(
    private readonly options: AmqpEndpointOptions,
    private readonly handlers: EntityHandlers,
  ) {
    this.container = rhea.create_container({
      id: 'azure-standin',
      autoaccept: false,
      // A modified outcome (Service Bus abandon) is not a release: stand-ins tell them apart.
      treat_modified_as_released: false,
    } as Parameters<typeof rhea.create_container>[0]);
    this.container.sasl_server_mechanisms.enable_anonymous();
    this.container.sasl_server_mechanisms.enable_plain(() => true);
    this.container.on('connection_open', (context: EventContext) => {
      const connection = context.connection;
      this.connections.add(connection);
      this.grants.set(connection, { audiences: new Set() });
      this.replyLinks.set(connection, new Map());
      // rhea learns that a connection is gone from its socket's 'end' or 'error', and a socket
      // this side destroys (dropConnections) emits neither, only 'close': without this the
      // connection, its sessions and its links would stay open here, and a stand-in would go on
      // delivering to links no client reads (each such delivery locked until its lock lapses).
      // A link lives only as long as its connection (https://learn.microsoft.com/azure/service-bus-messaging/service-bus-amqp-protocol-guide).
      const internals = connection as unknown as { socket?: { once(event: 'close', listener: () => void): void }; _disconnected(): void };
      internals.socket?.once('close', () => {
        if (connection.is_open()) internals._disconnected();
      });
    });
    const forget = (context: EventContext): void => {
      this.connections.delete(context.connection);
      this.handlers.connectionClosed?.(context.connection);
    };
    this.container.on('connection_close', forget);
    this.container.on('disconnected', forget);
    this.container.on('error', () => undefined);
    this.container.on('sender_open', (context: EventContext) => this.onSenderOpen(context));
    this.container.on('receiver_open', (context: EventContext) => this.onReceiverOpen(context));
  }

  async start(): Promise<number> {
    const tls = this.options.tls;
    const server = this.container.listen({
      host: this.options.host ?? '127.0.0.1',
      port: this.options.port ?? 0,
      ...(tls ? { transport: 'tls', key: tls.key, cert: tls.cert } : { transport: 'tcp' }),
    } as Parameters<Container['listen']>[0]) as Server;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    return (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const connection of this.connections) {
      try {
        connection.close();
      } catch {
        // already closing
      }
    }
    this.connections.clear();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * Drops every open connection at the socket, as a network fault or a service-side restart
   * does: clients see their connection lost without a close frame and must connect again.
   * Returns how many were dropped.
   */
  dropConnections(): number {
    const dropped = [...this.connections];
    for (const connection of dropped) (connection as unknown as { socket?: { destroy(): void } }).socket?.destroy();
    return dropped.length;
  }

  /** True when a put-token on this connection granted an audience covering `entityPath`. */
  static covers(grants: ConnectionGrants, entityPath: string): boolean {
    const path = decoded(entityPath).toLowerCase().replace(/^\/+/, '');
    for (const granted of [...grants.audiences].map((a) => decoded(a).toLowerCase())) {
      if (granted === '' || path === granted || path.startsWith(`${granted}/`)) return true;
    }
    return false;
  }

  private grantsOf(connection: Connection): ConnectionGrants {
    let grants = this.grants.get(connection);
    if (!grants) {
      grants = { audiences: new Set() };
      this.grants.set(connection, grants);
    }
    return grants;
  }

  private onSenderOpen(context: EventContext): void {
    const sender = context.sender!;
    const source = sender.source?.address ?? '';
    if (source === CBS || source === MANAGEMENT || source.endsWith(MANAGEMENT_SUFFIX)) {
      // The client's reply link: replies go to it by its target address (the request's reply_to).
      const replyTo = sender.target?.address ?? sender.name;
      let links = this.replyLinks.get(context.connection);
      if (!links) {
        links = new Map();
        this.replyLinks.set(context.connection, links);
      }
      links.set(replyTo, sender);
      links.set(sender.name, sender);
      // Some clients (azure-iothub) give their reply link no address: reply on the node's link.
      links.set(`node:${source}`, sender);
      return;
    }
    this.handlers.senderOpened(sender, this.grantsOf(context.connection));
  }

  private onReceiverOpen(context: EventContext): void {
    const receiver = context.receiver!;
    const target = receiver.target?.address ?? '';
    if (target === CBS) {
      receiver.on('message', (ctx: EventContext) => this.onPutToken(ctx, CBS));
      return;
    }
    if (target === MANAGEMENT || target.endsWith(MANAGEMENT_SUFFIX)) {
      receiver.on('message', (ctx: EventContext) => {
        const request = ctx.message!;
        // Event Hubs addresses one `$management` node and names the entity in the request.
        const entityPath =
          target === MANAGEMENT
            ? String((request.application_properties as Record<string, unknown> | undefined)?.['name'] ?? '')
            : target.slice(0, -MANAGEMENT_SUFFIX.length);
        const grants = this.grantsOf(ctx.connection);
        // Event Hubs management requests carry their token in the request instead of on $cbs.
        const carried = (request.application_properties as Record<string, unknown> | undefined)?.['security_token'];
        if (typeof carried === 'string') {
          const check = this.check(carried);
          if (check.ok) grants.audiences.add(audiencePath(check.audience));
        }
        // A token for the entity covers its management node, and so does one for the node itself
        // (`<entity>/$management`), which is what the Service Bus SDK puts when it opens the node
        // again on a new connection: https://learn.microsoft.com/azure/service-bus-messaging/service-bus-amqp-request-response
        const reply =
          AmqpEndpoint.covers(grants, entityPath) || (target !== MANAGEMENT && AmqpEndpoint.covers(grants, target))
            ? safely(() => this.handlers.management(entityPath, request, grants))
            : {
                statusCode: 401,
                statusDescription: `Unauthorized access to ${entityPath}: no put-token covers it.`,
                errorCondition: 'amqp:unauthorized-access',
              };
        ctx.delivery!.accept();
        this.reply(ctx.connection, request, target, reply);
      });
      return;
    }
    this.handlers.receiverOpened(receiver, this.grantsOf(context.connection));
  }

  private onPutToken(context: EventContext, node: string): void {
    const request = context.message!;
    const props = (request.application_properties ?? {}) as Record<string, unknown>;
    const token = typeof request.body === 'string' ? request.body : '';
    const check = this.check(token);
    context.delivery!.accept();
    if (props['operation'] !== 'put-token') {
      this.reply(context.connection, request, node, { statusCode: 400, statusDescription: `Unsupported $cbs operation ${String(props['operation'])}.` });
      return;
    }
    if (!check.ok) {
      this.reply(context.connection, request, node, {
        statusCode: 401,
        statusDescription: `Put-token refused: ${check.reason}.`,
        errorCondition: 'amqp:unauthorized-access',
      });
      return;
    }
    this.grantsOf(context.connection).audiences.add(audiencePath(String(props['name'] ?? check.audience)));
    const status = this.options.putTokenStatus ?? 202;
    this.reply(context.connection, request, node, { statusCode: status, statusDescription: status === 200 ? 'OK' : 'Accepted' });
  }

  private check(token: string): ReturnType<typeof checkSharedAccessSignature> {
    const policies = typeof this.options.policies === 'function' ? this.options.policies() : this.options.policies;
    const check = checkSharedAccessSignature(token, policies, Date.now(), this.options.keyEncoding ?? 'utf8');
    if (check.ok && this.options.mayGrant && !this.options.mayGrant(check.keyName, audiencePath(check.audience))) {
      return { ok: false, reason: `key '${check.keyName}' may not grant '${check.audience}'` };
    }
    return check;
  }

  private reply(connection: Connection, request: Message, node: string, reply: ManagementReply): void {
    const links = this.replyLinks.get(connection);
    const link = links?.get(String(request.reply_to ?? '')) ?? links?.get(`node:${node}`);
    if (!link) return; // the client gave no reply link: nothing can be answered
    const applicationProperties: Record<string, unknown> = {
      statusCode: reply.statusCode,
      statusDescription: reply.statusDescription,
      'status-code': reply.statusCode,
      'status-description': reply.statusDescription,
    };
    if (reply.errorCondition) applicationProperties['errorCondition'] = reply.errorCondition;
    link.send({
      ...(request.message_id === undefined ? {} : { correlation_id: request.message_id }),
      application_properties: applicationProperties,
      body: reply.body ?? null,
    });
  }
}

function decoded(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

function safely(run: () => ManagementReply): ManagementReply {
  try {
    return run();
  } catch (error) {
    return { statusCode: 500, statusDescription: error instanceof Error ? error.message : String(error), errorCondition: 'amqp:internal-error' };
  }
}

/** Settles a delivery we sent with a terminal outcome, as the service answers a disposition. */
export function settleWith(delivery: Delivery, outcome: 'accepted' | { readonly condition: string; readonly description: string }): void {
  if (outcome === 'accepted') delivery.update(true, outcomes.accepted().described());
  else delivery.update(true, outcomes.rejected({ error: { condition: outcome.condition, description: outcome.description } }).described());
}

/** rhea's outcome constructors, which its typings leave out. */
const outcomes = rhea.message as unknown as {
  accepted(): { described(): unknown };
  rejected(fields: { error: { condition: string; description: string } }): { described(): unknown };
};
