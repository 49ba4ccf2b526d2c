"""User-agent verdicts: exact answers for real strings, robustness on any
text, and quality floors on the labelled dev data."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.quality import SAMPLES, browser_humans, dataset_bots, fail2ban_bots, matomo_user_agents, scores
from netsift.detection.bots import BotVerdict, classify_user_agent
from netsift.detection.ruleset import load_rules

RULES = load_rules()
HAND_WRITTEN = load_rules(datasets=False)
needs_samples = pytest.mark.skipif(not (SAMPLES / "useragents").is_dir(), reason="../shared/samples absent")

CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"


@pytest.mark.parametrize(
    "agent, expected",
    [
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", (True, "search-engine", "ua-search-engine")),
        ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", (True, "search-engine", "ua-search-engine")),
        ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)", (True, "ai-crawler", "ua-ai-crawler")),
        ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)", (True, "ai-crawler", "ua-ai-crawler")),
        ("CCBot/2.0 (https://commoncrawl.org/faq/)", (True, "ai-crawler", "ua-ai-crawler")),
        ("Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)", (True, "monitor", "ua-monitor")),
        ("Feedly/1.0 (+http://www.feedly.com/fetcher.html; 5 subscribers)", (True, "feed-reader", "ua-feed-reader")),
        # The AI split: a crawler collects for the operator, an agent fetches for a person's prompt.
        ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; +https://openai.com/bot", (True, "ai-agent", "ua-ai-agent")),
        ("Claude-User (claude-code/2.1.86; +https://support.anthropic.com/)", (True, "ai-agent", "ua-ai-agent")),
        ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Perplexity-User/1.0; +https://perplexity.ai/perplexity-user)", (True, "ai-agent", "ua-ai-agent")),
        ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; OAI-SearchBot/1.0; +https://openai.com/searchbot", (True, "ai-crawler", "ua-ai-crawler")),
        ("Mozilla/5.0 (compatible; Google-InspectionTool/1.0)", (True, "search-engine", "ua-search-console")),
        ("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", (True, "link-preview", "ua-link-preview")),
        ("Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)", (True, "fetch-proxy", "ua-fetch-proxy")),
        ("ClamAV/0.103.8 (OS: linux-gnu, ARCH: x86_64, CPU: x86_64)", (True, "updater", "ua-updater")),
        ("Overcast/1.0 Podcast Sync (123 subscribers; feed-id=456789; +http://overcast.fm/)", (True, "feed-reader", "ua-feed-reader")),
        ("curl/7.88.1", (True, "http-library", "ua-http-library")),
        ("Wget/1.21.4", (True, "http-library", "ua-http-library")),
        ("python-requests/2.31.0", (True, "http-library", "ua-http-library")),
        ("Go-http-client/2.0", (True, "http-library", "ua-http-library")),
        ("okhttp/4.12.0", (True, "http-library", "ua-http-library")),
        ("Java/17.0.9", (True, "http-library", "ua-http-library")),
        ("libwww-perl/6.72", (True, "http-library", "ua-http-library")),
        ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.6099.109 Safari/537.36", (True, "headless-browser", "ua-headless")),
        ("sqlmap/1.8#stable (https://sqlmap.org)", (True, "scanner", "ua-scanner")),
        ("Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:000001)", (True, "scanner", "ua-scanner")),
        ("WPScan v3.8.25 (https://wpscan.com/wordpress-security-scanner)", (True, "scanner", "ua-scanner")),
        ("Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)", (True, "scanner", "ua-scanner")),
        ("Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", (True, "other-bot", "ua-dataset")),
        ("Mozilla/5.0 (compatible; FooCorpBot/1.0)", (True, "other-bot", "ua-self-described-bot")),
        ("TrackBack/1.02", (True, "other-bot", "ua-no-platform")),
        ("", (True, "other-bot", "ua-empty")),
        ("-", (True, "other-bot", "ua-empty")),
        (None, (True, "other-bot", "ua-empty")),
        (CHROME, (False, None, None)),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15", (False, None, None)),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0", (False, None, None)),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.67", (False, None, None)),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", (False, None, None)),
        ("Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36", (False, None, None)),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/460.0.0.48.109;FBBV/580000000;FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS;FBSV/17.4;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5]", (False, None, "ua-human-app")),
        ("Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230901.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/117.0.0.0 Mobile Safari/537.36 Instagram 300.0.0.29.110 Android", (False, None, "ua-human-app")),
        ("Mozilla/5.0 (Linux; Android 10; CUBOT_X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36", (False, None, None)),
        ("Opera/9.80 (J2ME/MIDP; Opera Mini/9.80 (S60; SymbOS; Opera Mobi/23.348; U; en) Presto/2.5.25 Version/10.54", (False, None, None)),
        ("Lynx/2.8.9rel.1 libwww-FM/2.14 SSL-MM/1.4.1 OpenSSL/1.1.1d", (False, None, None)),
    ],
)  # fmt: skip
def test_exact_user_agent_verdicts(agent, expected):
    assert classify_user_agent(agent, RULES) == BotVerdict(*expected)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.none(), st.text(max_size=400), st.text(alphabet="()/;.,+ -:@aAbBoOtT0123456789", max_size=400)))
def test_never_raises_and_is_deterministic(agent):
    verdict = classify_user_agent(agent, RULES)
    assert verdict == classify_user_agent(agent, RULES)
    assert verdict.is_bot == (verdict.bot_category is not None) == (verdict.rule_id is not None)


@pytest.mark.slow
@settings(max_examples=25, deadline=None)  # no timing asserted; each example matches 2,000+ characters against every rule
@given(st.text(min_size=1, max_size=200))
def test_only_the_first_2000_characters_count(tail):
    assert classify_user_agent(CHROME.ljust(2000) + tail, RULES) == classify_user_agent(CHROME.ljust(2000), RULES)


@pytest.mark.slow
def test_real_browsers_stay_silent():
    """839 real 2025 browser user agents: not one may be called a bot."""
    flagged = [ua for ua, _ in browser_humans() if classify_user_agent(ua, RULES).is_bot]
    assert flagged == []


@pytest.mark.slow
def test_dataset_instances_are_bots_and_the_rest_generalises():
    rows = dataset_bots()
    assert scores(rows, lambda ua: classify_user_agent(ua, RULES).is_bot)[1] >= 0.998
    # Without the dataset rule, our own rules alone still find most of them.
    assert scores(rows, lambda ua: classify_user_agent(ua, HAND_WRITTEN).is_bot)[1] >= 0.97


@pytest.mark.slow
@needs_samples
def test_matomo_browsers_and_libraries():
    rows = matomo_user_agents()
    precision, recall, _, _ = scores(rows, lambda ua: classify_user_agent(ua, RULES).is_bot)
    assert precision >= 0.99 and recall >= 0.98
    libraries = [ua for ua, label in rows if label and "Headless" not in ua]
    categories = {classify_user_agent(ua, RULES).bot_category for ua in libraries}
    assert "http-library" in categories


@needs_samples
def test_fail2ban_bad_bots():
    rows = fail2ban_bots()
    assert rows and all(classify_user_agent(ua, RULES).is_bot for ua, _ in rows)


@pytest.mark.parametrize(
    "agent, expected",
    [
        # An Electron desktop app (matomo device-detector's browser fixtures): a person.
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Colibri/1.16.0 Chrome/78.0.3904.99 Electron/7.1.1 Safari/537.36",
         (False, None, "ua-human-app")),
        # The same engines driven by automation, and the apps' own fetchers, stay bots.
        ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.6099.109 Safari/537.36 Electron/28.0.0",
         (True, "headless-browser", "ua-headless")),
        ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", (True, "link-preview", "ua-link-preview")),
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", (True, "search-engine", "ua-search-engine")),
    ],
)  # fmt: skip
def test_a_persons_app_is_not_a_bot_but_automation_still_is(agent, expected):
    assert classify_user_agent(agent, RULES) == BotVerdict(*expected)
