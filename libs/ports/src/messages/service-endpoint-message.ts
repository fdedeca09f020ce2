import { describeIssues, err, ok, type CodedError, type Result } from '@fieldlink/domain';
import type { QueueMessage } from '../message-queue-port.js';
import { decodeRemoteExecutionContext, encodeRemoteExecutionContext, type RemoteExecutionContext } from './remote-execution-context.js';
import { decodeRemoteExecutionContextXml, encodeRemoteExecutionContextBinaryXml, encodeRemoteExecutionContextXml } from './remote-execution-context-xml.js';

/*
 * A Dataverse service endpoint's message on a Service Bus queue (flow 13), as documented in
 * "Write a listener application for an Azure solution" and "Azure integration":
 * https://learn.microsoft.com/en-us/power-apps/developer/data-platform/write-listener-application-azure-solution
 * https://learn.microsoft.com/en-us/power-apps/developer/data-platform/azure-integration
 * - the body is the RemoteExecutionContext in the endpoint's message format
 *   (`serviceendpoint.messageformat`): 1 Binary XML `application/msbin1` (.NET Binary XML, the
 *   default), 2 Json `application/json`, 3 Text XML `application/xml`;
 * - the application properties carry the claims `…/Claims/Organization`, `…/User`,
 *   `…/InitiatingUser`, `…/EntityLogicalName`, `…/RequestName` (keys of Microsoft.Xrm.Sdk.ClaimTypes);
 * - over 192 KB, ParentContext, InputParameters, PreEntityImages and PostEntityImages are removed
 *   and the property `MessageMaxSizeExceeded` is added; if it still does not fit, nothing is sent.
 */

const CLAIMS = 'http://schemas.microsoft.com/xrm/2011/Claims/';
export const ServiceEndpointProperty = {
  Organization: `${CLAIMS}Organization`,
  User: `${CLAIMS}User`,
  InitiatingUser: `${CLAIMS}InitiatingUser`,
  EntityLogicalName: `${CLAIMS}EntityLogicalName`,
  RequestName: `${CLAIMS}RequestName`,
  MessageMaxSizeExceeded: 'MessageMaxSizeExceeded',
} as const;

/** `serviceendpoint.messageformat` and the content type each format posts with. */
export const ServiceEndpointMessageFormat = { BinaryXml: 1, Json: 2, TextXml: 3 } as const;
export type ServiceEndpointMessageFormat = (typeof ServiceEndpointMessageFormat)[keyof typeof ServiceEndpointMessageFormat];
export const SERVICE_ENDPOINT_CONTENT_TYPES: Readonly<Record<ServiceEndpointMessageFormat, string>> = {
  1: 'application/msbin1',
  2: 'application/json',
  3: 'application/xml',
};

/** The largest message a service endpoint posts: 192 KB. */
export const SERVICE_ENDPOINT_MESSAGE_MAX_BYTES = 192 * 1024;

export type ServiceEndpointMessageErrorCode =
  /** `application/msbin1`: .NET Binary XML, which this orchestrator does not read. */
  | 'BinaryXmlNotSupported'
  /** Another content type than the three a service endpoint uses. */
  | 'UnsupportedContentType'
  /** The body is not a readable RemoteExecutionContext in its format. */
  | 'InvalidRemoteExecutionContext';

export type ServiceEndpointMessageError = CodedError<ServiceEndpointMessageErrorCode>;

export interface ServiceEndpointMessage {
  readonly context: RemoteExecutionContext;
  readonly format: 'json' | 'xml';
  /** True when the endpoint removed the input parameters and images to fit 192 KB: re-read the record. */
  readonly maxSizeExceeded: boolean;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
const BASE64 = /^[A-Za-z0-9+/\r\n]+={0,2}\s*$/;

/** The body's text, or its base64-decoded text when it was transfer-encoded (the Logic App's connectors hand bodies over so). */
function bodyText(body: Uint8Array): string | undefined {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    return undefined;
  }
  const trimmed = text.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('<') || !BASE64.test(trimmed)) return text;
  try {
    const decoded = utf8.decode(Buffer.from(trimmed, 'base64'));
    const inner = decoded.trimStart();
    return inner.startsWith('{') || inner.startsWith('<') ? decoded : text;
  } catch {
    return text;
  }
}

const mediaType = (contentType: string | undefined): string => (contentType ?? '').split(';')[0]!.trim().toLowerCase();

/** The .NET Binary XML record that opens a document element in practice (PrefixElement/ShortElement/Element/dictionary forms). */
const looksLikeBinaryXml = (body: Uint8Array): boolean => body.length > 0 && body[0]! >= 0x40 && body[0]! <= 0x77 && body[0] !== 0x7b;

/**
 * Reads a service endpoint message by its content type; never throws. Without a content type the
 * body decides (JSON `{`, XML `<`). Binary XML is refused with the endpoint setting to change.
 */
export function decodeServiceEndpointMessage(
  message: Pick<QueueMessage, 'body' | 'contentType' | 'properties'>,
): Result<ServiceEndpointMessage, ServiceEndpointMessageError> {
  const type = mediaType(message.contentType);
  const maxSizeExceeded =
    message.properties?.[ServiceEndpointProperty.MessageMaxSizeExceeded] !== undefined &&
    message.properties[ServiceEndpointProperty.MessageMaxSizeExceeded] !== false;
  if (type === 'application/msbin1' || (type === '' && looksLikeBinaryXml(message.body) && bodyText(message.body) === undefined)) {
    return err({
      code: 'BinaryXmlNotSupported',
      message:
        'The service endpoint posts .NET Binary XML (content type application/msbin1, Message Format "Binary XML", the default). Fieldlink reads Json and Text XML: in the Plug-in Registration Tool, open the service endpoint registration and set Message Format to Json (or XML); messageformat 2 or 3 on the serviceendpoint record.',
    });
  }
  const text = bodyText(message.body);
  if (text === undefined) return err({ code: 'InvalidRemoteExecutionContext', message: 'body: is not valid UTF-8' });
  const start = text.trimStart();
  const format: 'json' | 'xml' | undefined =
    type === 'application/json' || type === 'text/json'
      ? 'json'
      : type === 'application/xml' || type === 'text/xml'
        ? 'xml'
        : type === ''
          ? start.startsWith('<')
            ? 'xml'
            : 'json'
          : undefined;
  if (format === undefined) {
    return err({
      code: 'UnsupportedContentType',
      message: `content type "${message.contentType}" is not one a Dataverse service endpoint posts (application/json, application/xml, application/msbin1)`,
    });
  }
  const decoded = format === 'json' ? decodeRemoteExecutionContext(text) : decodeRemoteExecutionContextXml(text);
  if (!decoded.ok) return err({ code: 'InvalidRemoteExecutionContext', message: describeIssues(decoded.error) });
  return ok({ context: decoded.value, format, maxSizeExceeded });
}

// ---- posting (what the service endpoint sends) ----

/** Who posts: the organisation's URI and the calling and initiating users (claims of every message). */
export interface ServiceEndpointIdentity {
  readonly organizationUri: string;
  readonly userId: string;
  readonly initiatingUserId: string;
}

export type ServiceEndpointMessageTooLarge = CodedError<'MessageTooLarge'>;

const encodeIn = (ctx: RemoteExecutionContext, format: ServiceEndpointMessageFormat): Uint8Array =>
  format === ServiceEndpointMessageFormat.Json
    ? encodeRemoteExecutionContext(ctx)
    : format === ServiceEndpointMessageFormat.TextXml
      ? encodeRemoteExecutionContextXml(ctx)
      : encodeRemoteExecutionContextBinaryXml(ctx);

/**
 * The queue message a service endpoint posts for a context: the body in the endpoint's format,
 * its content type and the claim properties. Over 192 KB the input parameters and entity images
 * are removed and `MessageMaxSizeExceeded` is set; when even that does not fit, it is an error and
 * nothing is to be sent.
 */
export function serviceEndpointQueueMessage(
  ctx: RemoteExecutionContext,
  format: ServiceEndpointMessageFormat,
  identity: ServiceEndpointIdentity,
  messageId: string,
  maxBytes = SERVICE_ENDPOINT_MESSAGE_MAX_BYTES,
): Result<QueueMessage, ServiceEndpointMessageTooLarge> {
  let body = encodeIn(ctx, format);
  let stripped = false;
  if (body.length > maxBytes) {
    body = encodeIn({ ...ctx, inputParameters: {}, preEntityImages: {}, postEntityImages: {} }, format);
    stripped = true;
    if (body.length > maxBytes) {
      return err({
        code: 'MessageTooLarge',
        message: `the ${ctx.messageName} context of ${ctx.primaryEntityName} ${ctx.primaryEntityId} is ${body.length} bytes without its parameters and images; a service endpoint sends at most ${maxBytes}`,
      });
    }
  }
  return ok({
    messageId,
    body,
    contentType: SERVICE_ENDPOINT_CONTENT_TYPES[format],
    ...(ctx.correlationId === undefined ? {} : { correlationId: ctx.correlationId }),
    properties: {
      [ServiceEndpointProperty.Organization]: identity.organizationUri,
      [ServiceEndpointProperty.User]: identity.userId,
      [ServiceEndpointProperty.InitiatingUser]: identity.initiatingUserId,
      [ServiceEndpointProperty.EntityLogicalName]: ctx.primaryEntityName,
      [ServiceEndpointProperty.RequestName]: ctx.messageName,
      ...(stripped ? { [ServiceEndpointProperty.MessageMaxSizeExceeded]: true } : {}),
    },
  });
}
