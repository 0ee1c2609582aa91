<?php
/*
 * slipway_payments.php - WHMCS hook for an operator who bills through
 * WHMCS: a paid WHMCS invoice is reported to slipway as a payment of the
 * client's slipway account (POST /v1/hooks/payments, signed as a Standard
 * Webhook with the operator's hook secret; README.md "Payments"), so
 * slipway settles the account's open invoices and unsuspends what dunning
 * suspended.
 *
 * Configured in WHMCS's configuration.php:
 *   $slipway_hook = ['url' => 'https://panel.example.com',
 *       'account_id' => '<the operator account's id>',
 *       'secret' => 'whsec_...',   // POST /v1/account/hook-secret, as that operator
 *       'token' => '<an API token of that operator>'];
 * The client's account is the slipway customer of the operator's own (no
 * reseller) with the client's email. The payment's webhook-id is
 * "whmcs-invoice-<id>": a hook run twice for one invoice is one payment.
 */
if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}
require_once __DIR__ . '/../../modules/servers/slipway/lib/api.php';

/* The request for one payment: [headers, body]. $now is a Unix time. */
function slipway_payment_request(array $conf, string $account, int $cents, string $currency,
    string $invoice, int $now): array
{
    $body = json_encode(['account_id' => $account,
        'amount' => ['amount' => $cents, 'currency' => strtoupper($currency)],
        'reference' => "whmcs invoice $invoice"]);
    $id = "whmcs-invoice-$invoice";
    $key = base64_decode(substr($conf['secret'], strlen('whsec_')), true);
    if (strpos($conf['secret'], 'whsec_') !== 0 || $key === false) {
        throw new SlipwayError('the slipway_hook secret must be whsec_ and base64');
    }
    $sig = base64_encode(hash_hmac('sha256', "$id.$now.$body", $key, true));
    return [['Content-Type: application/json', "webhook-account: {$conf['account_id']}",
        "webhook-id: $id", "webhook-timestamp: $now", "webhook-signature: v1,$sig"], $body];
}

/* The operator's own customer with this email (slipway bills no other). */
function slipway_payment_account(array $conf, string $email): string
{
    $api = ['serverhostname' => $conf['url'], 'serverpassword' => $conf['token']];
    foreach (slipway_api_all($api, '/v1/admin/accounts?kind=customer') as $a) {
        if (strcasecmp($a['email'], $email) === 0 && empty($a['reseller_id'])) {
            return $a['id'];
        }
    }
    throw new SlipwayError("slipway bills no customer with the email $email");
}

/* Reports the paid invoice; returns slipway's answer, throws SlipwayError
 * with its message. */
function slipway_payment_send(array $conf, string $email, string $invoice, float $total,
    string $currency): array
{
    $account = slipway_payment_account($conf, $email);
    [$headers, $body] = slipway_payment_request($conf, $account, (int)round($total * 100),
        $currency, $invoice, time());
    $ch = curl_init(rtrim($conf['url'], '/') . '/v1/hooks/payments');
    curl_setopt_array($ch, [CURLOPT_POST => true, CURLOPT_POSTFIELDS => $body,
        CURLOPT_HTTPHEADER => $headers, CURLOPT_RETURNTRANSFER => true, CURLOPT_TIMEOUT => 30]);
    $raw = curl_exec($ch);
    $status = (int)curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
    curl_close($ch);
    $answer = is_string($raw) ? json_decode($raw, true) : null;
    if ($status !== 200) {
        throw new SlipwayError('slipway: ' . ($answer['error']['message'] ?? "HTTP $status"));
    }
    return $answer;
}

if (function_exists('add_hook')) {
    add_hook('InvoicePaid', 1, function (array $vars) {
        global $slipway_hook;
        if (empty($slipway_hook)) {
            return;
        }
        $inv = localAPI('GetInvoice', ['invoiceid' => $vars['invoiceid']]);
        $client = localAPI('GetClientsDetails', ['clientid' => $inv['userid']]);
        try {
            $paid = slipway_payment_send($slipway_hook, (string)$client['email'],
                (string)$vars['invoiceid'], (float)$inv['total'], (string)$client['currency_code']);
            logActivity("slipway: invoice {$vars['invoiceid']} reported as payment {$paid['payment_id']}");
        } catch (Exception $e) {
            logActivity("slipway: invoice {$vars['invoiceid']} not reported: " . $e->getMessage());
        }
    });
}
