// The pages people see: the login form, errors, sign-out. Plain string functions, no external
// assets (no CDN, no fonts, no scripts): Vietnamese first, one English line under it.

export function escapeHtml(value) {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const STYLE = `
  body { font-family: "Segoe UI", "Noto Sans", "DejaVu Sans", Arial, sans-serif; background: #f3f5f7;
         margin: 0; color: #1d2733; }
  main { max-width: 26rem; margin: 3rem auto; background: #fff; padding: 2rem 2rem 1.5rem;
         border-radius: 6px; box-shadow: 0 1px 4px rgba(0,0,0,.15); }
  h1 { font-size: 1.4rem; margin: 0 0 .25rem; color: #a4161a; }
  .en { color: #5c6773; font-size: .9rem; margin: 0 0 1.25rem; }
  label { display: block; font-weight: 600; margin: 1rem 0 .3rem; }
  label span { font-weight: 400; color: #5c6773; font-size: .85rem; }
  input { width: 100%; box-sizing: border-box; padding: .55rem .6rem; font-size: 1rem;
          border: 1px solid #a9b4bf; border-radius: 4px; }
  button { margin-top: 1.5rem; width: 100%; padding: .65rem; font-size: 1rem; font-weight: 600;
           background: #a4161a; color: #fff; border: 0; border-radius: 4px; cursor: pointer; }
  .error { background: #fdecea; border: 1px solid #f5c2c0; color: #8a1c1c; padding: .6rem .75rem;
           border-radius: 4px; margin: 1rem 0 0; }
  .client { font-size: .9rem; margin: 0; }
  .note { font-size: .8rem; color: #5c6773; margin-top: 1.5rem; }
`;

// form-action is left out on purpose: after the form is posted the browser follows redirects to
// the client's redirect_uri, which a form-action directive would block.
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'";

function layout(title, body) {
  return `<!DOCTYPE html>
<html lang="vi">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

export function loginPage({ uid, clientName, username = '', error = '' }) {
  const problem = error
    ? `<p class="error" role="alert" id="login-error">${escapeHtml(error)}</p>`
    : '';
  return layout(
    'Đăng nhập — motcua',
    `<h1>Đăng nhập</h1>
<p class="en" lang="en">Sign in — motcua development identity provider</p>
<p class="client">Ứng dụng yêu cầu đăng nhập: <strong>${escapeHtml(clientName)}</strong></p>
${problem}
<form method="post" action="/interaction/${encodeURIComponent(uid)}/login" autocomplete="off">
  <label for="username">Tên đăng nhập <span lang="en">(username)</span></label>
  <input id="username" name="username" type="text" required autofocus
         autocapitalize="none" spellcheck="false" value="${escapeHtml(username)}">
  <label for="password">Mật khẩu <span lang="en">(password)</span></label>
  <input id="password" name="password" type="password" required>
  <button type="submit">Đăng nhập <span lang="en">/ Sign in</span></button>
</form>
<p class="note">Môi trường phát triển: các tài khoản thử nghiệm được in ra khi chạy <code>make up</code>.
<span lang="en">Development only: the demo logins are printed by <code>make up</code>.</span></p>`,
  );
}

export function errorPage(out) {
  const details = Object.entries(out)
    .map(([key, value]) => `<li><strong>${escapeHtml(key)}</strong>: ${escapeHtml(value)}</li>`)
    .join('\n');
  return layout(
    'Lỗi đăng nhập — motcua',
    `<h1>Không thực hiện được yêu cầu đăng nhập</h1>
<p class="en" lang="en">The sign-in request could not be completed.</p>
<ul>${details}</ul>`,
  );
}

export function logoutPage(form) {
  return layout(
    'Đăng xuất — motcua',
    `<h1>Đăng xuất?</h1>
<p class="en" lang="en">Sign out?</p>
${form}
<button form="op.logoutForm" type="submit" name="logout" value="yes">Đăng xuất <span lang="en">/ Sign out</span></button>`,
  );
}

export function loggedOutPage() {
  return layout(
    'Đã đăng xuất — motcua',
    `<h1>Bạn đã đăng xuất</h1>
<p class="en" lang="en">You are signed out.</p>`,
  );
}
