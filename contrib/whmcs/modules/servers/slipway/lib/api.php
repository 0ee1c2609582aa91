<?php
/*
 * api.php - the module's one way to slipway: the public reseller API over
 * HTTPS with the reseller's token (README.md "The server entry").
 *
 * Every call goes through slipway_api(); an answer that is not 2xx becomes
 * a SlipwayError carrying slipway's own error message, which the WHMCS
 * functions hand back as their return string. Every POST carries an
 * Idempotency-Key made by slipway_idem_key(): the same WHMCS request,
 * retried, is answered by slipway with the first answer instead of being
 * done twice.
 */

class SlipwayError extends Exception
{
}

/* The panel's base URL from the WHMCS server entry: serverhostname as a
 * host[:port] (https when "Secure" is ticked, serverport when set) or as a
 * whole URL. */
function slipway_base_url(array $p): string
{
    $host = trim((string)($p['serverhostname'] ?? ''));
    if ($host === '') {
        throw new SlipwayError('the server entry has no hostname: set it to the panel\'s address');
    }
    if (preg_match('#^https?://#i', $host)) {
        return rtrim($host, '/');
    }
    $secure = !empty($p['serversecure']) && $p['serversecure'] !== 'off';
    $port = (string)($p['serverport'] ?? '');
    $url = ($secure ? 'https://' : 'http://') . $host;
    return $port !== '' && strpos($host, ':') === false ? "$url:$port" : $url;
}

/* The reseller's API token: the server entry's password field. */
function slipway_token(array $p): string
{
    $token = (string)($p['serverpassword'] ?? '');
    if ($token === '') {
        throw new SlipwayError('the server entry has no password: set it to a slipway reseller API token');
    }
    return $token;
}

/* An Idempotency-Key for one WHMCS request: the service, the action and a
 * detail that names this request and no later one (a hash of the body and
 * the server's state, chosen by the caller). A retry of the same request
 * makes the same key; slipway answers it with the first answer. */
function slipway_idem_key(array $p, string $action, string $detail): string
{
    $mac = substr(hash_hmac('sha256', $detail, slipway_token($p)), 0, 24);
    return sprintf('whmcs-%s-%s-%s', (int)$p['serviceid'], $action, $mac);
}

/* Logs one call to WHMCS's module log when running inside WHMCS, with the
 * token and passwords masked. */
function slipway_log(array $p, string $action, $request, $response): void
{
    if (!function_exists('logModuleCall')) {
        return;
    }
    $hide = array_filter([$p['serverpassword'] ?? '', $p['password'] ?? '']);
    logModuleCall('slipway', $action, $request, $response, null, array_values($hide));
}

/* One call. $body null sends none; $key is the Idempotency-Key of a POST.
 * Returns the decoded answer (null for 204); throws SlipwayError with
 * slipway's message otherwise. */
function slipway_api(array $p, string $method, string $path, ?array $body = null, ?string $key = null)
{
    $ch = curl_init(slipway_base_url($p) . $path);
    $headers = ['Authorization: Bearer ' . slipway_token($p), 'Accept: application/json'];
    if ($key !== null) {
        $headers[] = 'Idempotency-Key: ' . $key;
    }
    $json = $body === null ? null : json_encode($body, JSON_UNESCAPED_SLASHES);
    if ($json !== null) {
        $headers[] = 'Content-Type: application/json';
        curl_setopt($ch, CURLOPT_POSTFIELDS, $json);
    }
    curl_setopt_array($ch, [
        CURLOPT_CUSTOMREQUEST => $method,
        CURLOPT_HTTPHEADER => $headers,
        CURLOPT_RETURNTRANSFER => true,
        CURLOPT_CONNECTTIMEOUT => 10,
        CURLOPT_TIMEOUT => 30,
    ]);
    $raw = curl_exec($ch);
    $status = (int)curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
    $why = curl_error($ch);
    curl_close($ch);
    slipway_log($p, "$method $path", $json ?? '', $raw === false ? $why : $raw);
    if ($raw === false) {
        throw new SlipwayError("could not reach slipway at " . slipway_base_url($p) . ": $why");
    }
    $answer = $raw === '' ? null : json_decode($raw, true);
    if ($status >= 200 && $status < 300) {
        return $answer;
    }
    $msg = $answer['error']['message'] ?? "slipway answered HTTP $status";
    $code = $answer['error']['code'] ?? 'http_' . $status;
    throw new SlipwayError("slipway: $msg ($code)");
}

/* Every item of a list route, following next_cursor. */
function slipway_api_all(array $p, string $path): array
{
    $items = [];
    $cursor = null;
    do {
        $sep = strpos($path, '?') === false ? '?' : '&';
        $page = slipway_api($p, 'GET', $path . $sep . 'limit=200'
            . ($cursor === null ? '' : '&cursor=' . rawurlencode($cursor)));
        $items = array_merge($items, $page['items'] ?? []);
        $cursor = $page['next_cursor'] ?? null;
    } while ($cursor !== null);
    return $items;
}

function slipway_uuid_valid(string $s): bool
{
    return (bool)preg_match('/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/', $s);
}
