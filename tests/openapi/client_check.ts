// client_check.ts - what a third party writes over the client openapi-typescript generates
// from panel/openapi.json (slipway.d.ts, made by tests/lint/openapi_tools.sh): the WHMCS
// module's calls as a typed client. tsc --strict must accept it, and must refuse what the
// document forbids (each @ts-expect-error below is an error tsc has to find: a field the
// document requires, a state it does not list).
import type { components, operations } from "./slipway";

type Schemas = components["schemas"];
type JsonBody<O> = O extends { requestBody?: { content: { "application/json": infer B } } } ? B : never;
type Answer<O, S extends number> = O extends {
    responses: { [K in S]: { content: { "application/json": infer A } } };
}
    ? A
    : never;

/** What a transport does: one request, answered with its status and parsed JSON. */
export type Transport = (
    method: string,
    path: string,
    body?: unknown,
    idempotencyKey?: string,
) => Promise<{ status: number; json: unknown }>;

export class SlipwayError extends Error {}

async function expect<T>(sent: Promise<{ status: number; json: unknown }>, ok: number): Promise<T> {
    const r = await sent;
    if (r.status !== ok) {
        const e = r.json as Schemas["Error"];
        throw new SlipwayError(`${e.error.message} (${e.error.code})`);
    }
    return r.json as T;
}

export function client(send: Transport) {
    const verb = (v: "suspend" | "unsuspend" | "terminate", id: string, key: string) =>
        expect<Answer<operations["suspendResellerServer"], 202>>(
            send("POST", `/v1/reseller/servers/${id}/${v}`, undefined, key),
            202,
        );
    return {
        findCustomer: (externalId: string) =>
            expect<Answer<operations["listCustomers"], 200>>(
                send("GET", `/v1/reseller/customers?external_id=${encodeURIComponent(externalId)}`),
                200,
            ),
        createCustomer: (body: JsonBody<operations["createCustomer"]>, key: string) =>
            expect<Answer<operations["createCustomer"], 201>>(
                send("POST", "/v1/reseller/customers", body, key),
                201,
            ),
        order: (customer: string, body: JsonBody<operations["createCustomerOrder"]>, key: string) =>
            expect<Answer<operations["createCustomerOrder"], 202>>(
                send("POST", `/v1/reseller/customers/${customer}/orders`, body, key),
                202,
            ),
        server: (id: string) =>
            expect<Answer<operations["getServer"], 200>>(send("GET", `/v1/servers/${id}`), 200),
        suspend: (id: string, key: string) => verb("suspend", id, key),
        unsuspend: (id: string, key: string) => verb("unsuspend", id, key),
        terminate: (id: string, key: string) => verb("terminate", id, key),
        changePlan: (id: string, body: JsonBody<operations["changeResellerServerPlan"]>, key: string) =>
            expect<Answer<operations["changeResellerServerPlan"], 202>>(
                send("POST", `/v1/reseller/servers/${id}/change-plan`, body, key),
                202,
            ),
        quota: () => expect<Answer<operations["getResellerQuota"], 200>>(send("GET", "/v1/reseller/quota"), 200),
        usage: (month: string) =>
            expect<Answer<operations["getResellerUsage"], 200>>(
                send("GET", `/v1/reseller/usage?month=${month}`),
                200,
            ),
        job: (id: string) => expect<Answer<operations["getJob"], 200>>(send("GET", `/v1/jobs/${id}`), 200),
    };
}

/** CreateAccount as the module does it, through the typed client. */
export async function provision(c: ReturnType<typeof client>, client7: string): Promise<string> {
    const found = await c.findCustomer(client7);
    const customer =
        found.items[0]?.id ??
        (await c.createCustomer({ email: "alice@example.com", name: "Alice", external_id: client7 }, "k1")).id;
    const placed = await c.order(
        customer,
        { plan_id: "p", template_id: "t", hostname: "web1.example.com", password: "pw" },
        "k2",
    );
    const state: Schemas["Server"]["state"] = placed.server.state;
    const job: string = placed.job.id;
    return `${placed.server.id} ${state} ${job}`;
}

/** Suspend unless suspended, as the module does. */
export async function suspend(c: ReturnType<typeof client>, id: string): Promise<string> {
    const s = await c.server(id);
    if (s.state === "suspended") return s.state;
    const answer = await c.suspend(id, `whmcs-101-suspend-${s.updated_at ?? ""}`);
    return answer.job.state;
}

/** The usage rows UsageUpdate writes, from the typed answers. */
export async function traffic(c: ReturnType<typeof client>, month: string): Promise<Map<string, number>> {
    const rows = new Map<string, number>();
    for (const customer of (await c.usage(month)).customers)
        for (const s of customer.servers) rows.set(s.server_id, s.net_rx_bytes + s.net_tx_bytes);
    return rows;
}

// @ts-expect-error hostname is required in an order
export const missingField: JsonBody<operations["createCustomerOrder"]> = { plan_id: "p", template_id: "t" };
// @ts-expect-error a server's state is one of the documented states
export const badState: Schemas["Server"]["state"] = "paused";
